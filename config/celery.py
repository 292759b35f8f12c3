"""The Celery app. Settings come from Django's (CELERY_* names); tasks are
discovered in each installed app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# Celery's signal receivers (logging, task context and durations, graceful shutdown;
# the database connection kept between tasks), connected before the worker sets
# anything up.
from core import worker_connections  # noqa: F401
from core.observability import worker  # noqa: F401

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
