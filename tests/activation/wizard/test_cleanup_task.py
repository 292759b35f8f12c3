"""Abandoned drafts are cleaned by a beat job: the schedule exists and the task works."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from activation import services
from activation.models import Dataflow
from activation.tasks import dataflow_drafts_cleanup_task

pytestmark = pytest.mark.django_db


def test_the_daily_schedule_is_installed_by_migration() -> None:
    task = PeriodicTask.objects.get(name="Delete abandoned dataflow drafts (daily)")
    assert task.task == "activation.tasks.dataflow_drafts_cleanup_task"
    assert task.enabled and task.interval.every == 24 * 3600


def test_the_task_deletes_week_old_drafts(user: Any, connection: Any) -> None:
    old = services.dataflow_draft_create(user=user, connection=connection)
    fresh = services.dataflow_draft_create(user=user)
    Dataflow.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=7, seconds=1)
    )
    assert dataflow_drafts_cleanup_task.apply().get() == 1
    assert list(Dataflow.objects.values_list("pk", flat=True)) == [fresh.pk]
