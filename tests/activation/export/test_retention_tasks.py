"""Retention in bounded tasks: `deliveries_prune_task` deletes at most
PRUNE_ROWS_PER_TASK rows and queues the next task when it reached that limit."""

import datetime as dt

import pytest
from django.utils import timezone

from activation.export import services
from activation.models import DeliveryLog
from tests.activation.export.test_runs import dataflow_for, export, members, vip_segment

pytestmark = pytest.mark.django_db(transaction=True)


def test_retention_stops_at_its_limit_and_the_task_goes_on_in_another(sink, monkeypatch):
    from activation import tasks

    dataflow = dataflow_for([vip_segment()])
    members(3)
    export(dataflow, sink)
    DeliveryLog.objects.update(sent_at=timezone.now() - dt.timedelta(days=31))
    assert services.deliveries_prune(limit=2) == 2
    assert DeliveryLog.objects.count() == 1

    members(2, prefix="n")  # two more deliveries, past retention too: three old rows in all
    export(dataflow, sink)
    DeliveryLog.objects.update(sent_at=timezone.now() - dt.timedelta(days=31))
    monkeypatch.setattr(tasks, "PRUNE_ROWS_PER_TASK", 2)
    queued = []
    monkeypatch.setattr(tasks.deliveries_prune_task, "delay", lambda: queued.append("prune"))
    assert tasks.deliveries_prune_task() == 2
    assert queued == ["prune"]  # it reached its limit: more may be left
    assert tasks.deliveries_prune_task() == 1
    assert queued == ["prune"]  # fewer than the limit: done, nothing queued
    assert DeliveryLog.objects.count() == 0
