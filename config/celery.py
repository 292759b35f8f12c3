"""The Celery app. Settings come from Django's (CELERY_* names); tasks are
discovered in each installed app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# Celery's signal receivers (logging, task context and durations, graceful shutdown),
# connected before the worker sets anything up.
import core.observability.worker  # noqa: F401

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
