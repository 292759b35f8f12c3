"""A worker's database connection outlives its tasks, as a web process's outlives its
requests (`CELERY_DB_REUSE_MAX` keeps Celery from closing it after every task).

Before each task the connection is treated as Django treats it before a request:
closed when older than `CONN_MAX_AGE` or no longer usable (a restarted database),
so the task opens a fresh one instead of failing on a dead one.
"""

from __future__ import annotations

from typing import Any

from celery import signals
from django.db import close_old_connections


@signals.task_prerun.connect(dispatch_uid="worker_connections.task_prerun")
def _connections_checked(sender: Any = None, **_: Any) -> None:
    # A task run eagerly runs inside its caller (a request, a test): the caller's
    # connection and transaction are not the task's to close.
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()
