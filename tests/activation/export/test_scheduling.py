"""Triggers: debounced scheduling on commit, the safety tick, follow-ups, thin tasks."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from activation.export import services
from activation.export.locking import lock_claim
from activation.export.sinks import shared_memory_sink
from activation.models import Dataflow
from activation.tasks import dataflow_run_task, dataflows_tick_task, deliveries_prune_task
from tests.activation.export.conftest import (
    dataflow_for,
    export,
    segment_of,
    settle_changes,
    upsert,
    vip_segment,
)

GOLD = {"loyalty": {"tier": "gold"}}


@pytest.mark.django_db
def test_beat_runs_the_safety_tick_and_the_retention_job():
    tick = PeriodicTask.objects.get(task="activation.tasks.dataflows_tick_task")
    prune = PeriodicTask.objects.get(task="activation.tasks.deliveries_prune_task")
    assert tick.enabled and tick.interval.every <= 10
    assert prune.enabled and prune.interval.every == 24 * 3600


@pytest.mark.django_db(transaction=True)
def test_a_committed_profile_change_schedules_the_dataflows_that_map_its_segment(enqueued):
    segment = vip_segment()
    mapped = dataflow_for([segment])
    other = dataflow_for(
        [segment_of("Silver", {"path": "loyalty.tier", "op": "equals", "value": "silver"})]
    )
    disabled = dataflow_for([segment], status="disabled")
    Dataflow.objects.update(run_scheduled_for=None, last_run_at=None)
    enqueued.clear()

    upsert("ann@example.com", GOLD)

    assert enqueued == [(mapped.pk, 0.0)]
    assert other.pk != mapped.pk and disabled.pk != mapped.pk


@pytest.mark.django_db(transaction=True)
def test_a_profile_outside_every_mapped_segment_schedules_nothing(enqueued):
    dataflow_for([vip_segment()])
    enqueued.clear()

    upsert("ann@example.com", {"loyalty": {"tier": "silver"}})

    assert enqueued == []


@pytest.mark.django_db(transaction=True)
def test_scheduling_is_debounced_while_a_run_is_queued(enqueued):
    dataflow = dataflow_for([vip_segment()])
    Dataflow.objects.filter(pk=dataflow.pk).update(run_scheduled_for=None)
    enqueued.clear()

    assert services.schedule_dataflow_run(dataflow.pk)
    assert not services.schedule_dataflow_run(dataflow.pk)
    assert not services.schedule_dataflow_run(dataflow.pk)

    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_writes_to_dataflows_already_queued_cost_one_query(enqueued, django_assert_num_queries):
    segment = vip_segment()
    flows = [dataflow_for([segment]) for _ in range(5)]
    Dataflow.objects.update(run_scheduled_for=None, last_run_at=None)
    enqueued.clear()
    ids = [flow.pk for flow in flows]

    assert services.schedule_dataflow_runs(ids) == 5
    with django_assert_num_queries(1):  # which of them need a run: none
        assert services.schedule_dataflow_runs(ids) == 0

    assert sorted(dataflow_id for dataflow_id, _ in enqueued) == sorted(ids)


@pytest.mark.django_db(transaction=True)
def test_runs_start_at_most_about_once_a_second(enqueued):
    dataflow = dataflow_for([vip_segment()])
    last_run = timezone.now()
    Dataflow.objects.filter(pk=dataflow.pk).update(run_scheduled_for=None, last_run_at=last_run)
    enqueued.clear()

    before = timezone.now()
    services.schedule_dataflow_run(dataflow.pk)
    after = timezone.now()

    [(_, countdown)] = enqueued
    next_start = last_run + dt.timedelta(seconds=1)
    assert (next_start - after).total_seconds() <= countdown
    assert countdown <= (next_start - before).total_seconds()


@pytest.mark.django_db(transaction=True)
def test_a_lost_queued_run_is_queued_again_once_stale(enqueued):
    dataflow = dataflow_for([vip_segment()])
    Dataflow.objects.filter(pk=dataflow.pk).update(
        run_scheduled_for=timezone.now() - dt.timedelta(minutes=5)
    )
    enqueued.clear()

    assert services.schedule_dataflow_run(dataflow.pk)
    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_changes_arriving_during_a_run_get_a_follow_up_run(sink, enqueued, monkeypatch):
    dataflow = dataflow_for([vip_segment()])
    upsert("ann@example.com", GOLD)
    original = sink.put_records

    def meanwhile(entries):
        upsert("bob@example.com", GOLD)  # commits while the run holds the lock
        return original(entries)

    monkeypatch.setattr(sink, "put_records", meanwhile)
    enqueued.clear()
    export(dataflow, sink)

    assert [queued for queued, _ in enqueued].count(dataflow.pk) >= 1
    assert Dataflow.objects.get(pk=dataflow.pk).run_scheduled_for is not None


@pytest.mark.django_db(transaction=True)
def test_a_run_out_of_budget_queues_its_continuation(sink, enqueued):
    dataflow = dataflow_for([vip_segment()])
    for n in range(3):
        upsert(f"m{n}@example.com", GOLD)
    enqueued.clear()

    report = export(dataflow, sink, budget_s=0)

    assert report.state == "more"
    assert [queued for queued, _ in enqueued] == [dataflow.pk]


@pytest.mark.django_db(transaction=True)
def test_the_tick_queues_only_dataflows_with_work_and_nobody_on_them(sink, enqueued):
    caught_up = dataflow_for([vip_segment()])
    busy = dataflow_for([vip_segment()])
    waiting = dataflow_for([vip_segment()])
    upsert("ann@example.com", GOLD)
    export(caught_up, sink)
    lock_claim(busy.pk)
    Dataflow.objects.update(run_scheduled_for=None)
    enqueued.clear()

    assert services.dataflows_tick() == 1
    assert [queued for queued, _ in enqueued] == [waiting.pk]
    assert caught_up.pk != waiting.pk


@pytest.mark.django_db(transaction=True)
def test_the_tick_retries_a_failed_dataflow_only_after_its_retry_time(enqueued):
    dataflow = dataflow_for([vip_segment()], status="error")
    Dataflow.objects.filter(pk=dataflow.pk).update(
        run_scheduled_for=None, retry_at=timezone.now() + dt.timedelta(minutes=1)
    )
    enqueued.clear()
    assert services.dataflows_tick() == 0

    Dataflow.objects.filter(pk=dataflow.pk).update(retry_at=timezone.now())
    assert services.dataflows_tick() == 1


@pytest.mark.django_db(transaction=True)
def test_new_credentials_retry_a_failed_dataflow_at_once(enqueued):
    dataflow = dataflow_for([vip_segment()], status="error")
    Dataflow.objects.filter(pk=dataflow.pk).update(
        retry_at=timezone.now() + dt.timedelta(minutes=1)
    )
    enqueued.clear()

    connection = dataflow.connection
    connection.set_secret("a-new-secret")
    connection.save()

    assert [queued for queued, _ in enqueued] == [dataflow.pk]
    assert Dataflow.objects.get(pk=dataflow.pk).retry_at is None


@pytest.mark.django_db(transaction=True)
def test_the_tasks_are_thin_wrappers_over_the_services(settings):
    settings.EXPORT_SINK = "activation.export.sinks.memory_sink"
    shared_memory_sink.clear()
    dataflow = dataflow_for([vip_segment()])
    upsert("ann@example.com", GOLD)
    settle_changes()
    Dataflow.objects.filter(pk=dataflow.pk).update(last_run_at=None, run_scheduled_for=None)

    assert dataflows_tick_task() == 1
    assert dataflow_run_task(dataflow.pk) == "caught_up"
    assert shared_memory_sink.accepted == 1
    assert deliveries_prune_task() == 0


@pytest.mark.django_db(transaction=True)
def test_the_tick_queues_only_dataflows_whose_audience_changed_and_moves_the_others(enqueued):
    from activation.models import Backfill
    from profiles.models import ProfileChange

    vip = dataflow_for([vip_segment()])
    silver = dataflow_for(
        [segment_of("Silver", {"path": "loyalty.tier", "op": "equals", "value": "silver"})]
    )
    Backfill.objects.update(status="done")
    upsert("ann@example.com", GOLD)
    settle_changes()
    Dataflow.objects.update(run_scheduled_for=None, last_run_at=None)
    enqueued.clear()

    services.dataflows_tick()

    assert [pk for pk, _ in enqueued] == [vip.pk]
    change = ProfileChange.objects.latest("id")
    vip.refresh_from_db()
    silver.refresh_from_db()
    assert (silver.cursor_txid, silver.cursor_change_id) == (change.txid, change.id)
    assert (vip.cursor_txid, vip.cursor_change_id) < (change.txid, change.id), "its run reads it"


@pytest.mark.django_db(transaction=True)
def test_enabling_a_dataflow_created_disabled_starts_its_backfill_at_once(sink, enqueued):
    from activation.services import dataflow_disable, dataflow_enable

    upsert("ann@example.com", GOLD)  # a member to backfill
    segment = vip_segment()
    upsert("bob@example.com", GOLD)
    with transaction.atomic():  # as the API creates a dataflow with state "disabled"
        dataflow = dataflow_for([segment])
        dataflow_disable(dataflow=dataflow, user=dataflow.created_by)
    # The run queued by the activation finds it disabled and ends.
    assert services.dataflow_run(dataflow_id=dataflow.pk, sink=sink).state == "inactive"
    enqueued.clear()

    dataflow_enable(dataflow=dataflow, user=dataflow.created_by)

    assert enqueued == [(dataflow.pk, 0.0)]
    assert export(dataflow, sink).backfill_profiles == 1


@pytest.mark.django_db(transaction=True)
def test_enabling_sends_what_changed_while_disabled_at_once(sink, enqueued):
    from activation.services import dataflow_disable, dataflow_enable

    dataflow = dataflow_for([vip_segment()])
    export(dataflow, sink)
    upsert("ann@example.com", GOLD)  # queues a run ...
    dataflow_disable(dataflow=dataflow, user=dataflow.created_by)  # ... disabled at once
    services.dataflow_run(dataflow_id=dataflow.pk, sink=sink)
    for n in range(4):
        upsert(f"p{n}@example.com", GOLD)
    Dataflow.objects.filter(pk=dataflow.pk).update(
        last_run_at=timezone.now() - dt.timedelta(seconds=3)
    )
    enqueued.clear()

    dataflow_enable(dataflow=dataflow, user=dataflow.created_by)

    assert enqueued == [(dataflow.pk, 0.0)]
    assert export(dataflow, sink).delivered == 5


@pytest.mark.django_db(transaction=True)
def test_enabling_a_failed_dataflow_does_not_wait_for_its_retry_time(enqueued):
    from activation.services import dataflow_enable

    dataflow = dataflow_for([vip_segment()])
    Dataflow.objects.filter(pk=dataflow.pk).update(
        status="error", retry_at=timezone.now() + dt.timedelta(minutes=1), last_run_at=None
    )
    enqueued.clear()

    dataflow_enable(dataflow=dataflow, user=dataflow.created_by)

    assert enqueued == [(dataflow.pk, 0.0)]
    assert Dataflow.objects.get(pk=dataflow.pk).retry_at is None
