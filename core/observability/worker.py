"""Celery hooks: the log context and duration of each task, the request id carried
from the web request into the tasks it queued, and graceful shutdown.

Graceful shutdown: on SIGTERM Celery's main process starts a warm shutdown
(stop taking tasks, wait for the running ones) and sends `worker_shutting_down`.
The receiver sets a flag the export engine checks between chunks
(`shutdown_requested()`), so a run stops after the chunk in flight: its
position is recorded, the run lock released and a continuation queued, and
another worker goes on from there at once instead of after the lease.

The flag is one byte of shared anonymous memory made when this module is
imported, in the worker's main process before it forks its pool: the pool
processes (prefork), threads and the solo pool all see the main process set it.
Send SIGTERM to the main process (Kubernetes, Docker and supervisord do; under
systemd use `KillMode=mixed`): a pool process that gets SIGTERM itself dies
at once, as Celery's are made to.
"""

from __future__ import annotations

import mmap
import time
from typing import Any

from celery import signals

from core.observability import logging as log
from core.observability.metrics import task_observed

REQUEST_ID_HEADER = "request_id"

_shutdown = mmap.mmap(-1, 1)  # MAP_SHARED | MAP_ANONYMOUS: inherited through fork
_started: dict[str, float] = {}


def shutdown_requested() -> bool:
    return _shutdown[0] == 1


def shutdown_request() -> None:
    _shutdown[0] = 1


@signals.setup_logging.connect(dispatch_uid="observability.setup_logging")
def _keep_project_logging(**_: Any) -> None:
    """Workers and beat log through the project's LOGGING (format, context, LOG_LEVEL):
    with a receiver here Celery leaves logging alone (`-l` is then ignored)."""


@signals.worker_shutting_down.connect(dispatch_uid="observability.worker_shutting_down")
def _on_worker_shutting_down(sig: str = "", how: str = "", **_: Any) -> None:
    shutdown_request()


@signals.before_task_publish.connect(dispatch_uid="observability.before_task_publish")
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = log.current_context().get("request_id")
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect(dispatch_uid="observability.task_prerun")
def _on_task_prerun(task_id: str = "", task: Any = None, **_: Any) -> None:
    log.clear()
    log.bind(
        task_id=task_id,
        task=getattr(task, "name", None),
        request_id=getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None),
    )
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect(dispatch_uid="observability.task_postrun")
def _on_task_postrun(
    task_id: str = "", task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        task_observed(
            task=getattr(task, "name", "unknown"),
            state=state or "UNKNOWN",
            seconds=time.monotonic() - started,
        )
    log.clear()
