"""A worker keeps its database connection between tasks, and drops a stale one."""

import time
from types import SimpleNamespace

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config.celery import app
from core import worker_connections

pytestmark = pytest.mark.django_db(transaction=True)


class _Task:
    """What the fixup and the signal receivers read of a task."""

    request = SimpleNamespace(is_eager=False)


TASK = _Task()


def run_a_task(fixup: DjangoWorkerFixup) -> None:
    """What a worker does around each task, as far as the database is concerned."""
    fixup.on_task_prerun(sender=TASK)
    worker_connections._connections_checked(sender=TASK)  # the project's task_prerun receiver
    connection.ensure_connection()
    fixup.on_task_postrun(sender=TASK)


def test_the_connection_check_runs_before_every_task():
    uids = [key[0] for key, _ in signals.task_prerun.receivers]
    assert "worker_connections.task_prerun" in uids


def test_a_workers_connection_outlives_its_tasks(monkeypatch):
    # As production settings have it on PostgreSQL (SQLite's default is 0: a new one).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    fixup = DjangoWorkerFixup(app)
    connection.ensure_connection()
    opened = connection.connection

    for _ in range(3):
        run_a_task(fixup)

    assert connection.connection is opened


def test_a_connection_older_than_its_max_age_is_replaced_before_the_next_task():
    fixup = DjangoWorkerFixup(app)
    connection.ensure_connection()
    opened = connection.connection
    connection.close_at = time.monotonic() - 1  # CONN_MAX_AGE has passed

    run_a_task(fixup)

    assert connection.connection is not None and connection.connection is not opened
