"""Settings for the test suite: production's shape, faster password hashing.

DATABASE_URL and CELERY_BROKER_URL come from the environment, so CI runs the
suite on PostgreSQL and Redis, and a laptop on SQLite and the filesystem broker.
"""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    CELERY_BROKER_URL,
    DATABASES,
    VAR_DIR,
    filesystem_broker_options,
)

DEBUG = False
DEMO_USER_ALLOWED = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a real Celery worker process can share the test
    # database; one file per test process so parallel runs don't collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

if CELERY_BROKER_URL.startswith("filesystem://"):
    # Apart from `make run`'s broker folder, so a running local worker never
    # takes the tests' tasks.
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "test-broker")
