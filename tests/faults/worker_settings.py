"""Settings of the fault tests' Celery worker processes: the test settings, a fault plan
(FAULT_PLAN, see `tests.support.faults.worker_hook_env`) when one is given, and
the Redis broker's redelivery sweep as often as a test asks (FAULT_RESTORE_EVERY_S),
so a short CELERY_VISIBILITY_TIMEOUT redelivers a running task within seconds."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_BROKER_URL

if CELERY_BROKER_URL.startswith("redis") and os.environ.get("FAULT_RESTORE_EVERY_S"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "unacked_restore_interval": int(os.environ["FAULT_RESTORE_EVERY_S"]),
        "unacked_restore_throttle": 1,
    }

# A worker started with `tests.support.faults.worker_hook_env` runs its fault plan on
# the product's AWS calls (botocore events on every client; the pool's forked children
# inherit the hook).
from tests.support.faults import install_worker_hook_from_environment

install_worker_hook_from_environment()
