"""The change log stays bounded, and pruning never loses a change a dataflow still needs."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from activation.export import services
from activation.models import Backfill, BackfillStatus, Dataflow, DataflowStatus, ExportRun
from profiles.models import ProfileChange
from tests.activation.export.conftest import (
    dataflow_for,
    documents,
    export,
    settle_changes,
    upsert,
    vip_segment,
)

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = {"loyalty": {"tier": "gold"}}


@pytest.fixture(autouse=True)
def _no_safety_window(settings):
    settings.CHANGE_LOG_SAFETY_WINDOW_S = 0
    settings.CHANGE_LOG_RETENTION_DAYS = 7


def prune(*, days_later: float = 0) -> int:
    settle_changes()
    return services.change_log_prune(now=timezone.now() + dt.timedelta(days=days_later, seconds=1))


def member(email: str, name: str) -> int:
    return upsert(email, {**GOLD, "person": {"name": {"firstName": name}}})


def ups(document: dict) -> str:
    [entry] = document["segmentMembership"]["ups"].values()
    return entry["status"]


def first_name(sink, key: str) -> str:
    [document] = [d for d, (_, k) in zip(documents(sink), sink.entries, strict=True) if k == key]
    return document["person"]["name"]["firstName"]


@pytest.mark.django_db  # before any transactional test flushes the migrations' rows
def test_beat_prunes_the_change_log_every_minute():
    task = PeriodicTask.objects.get(task="activation.tasks.change_log_prune_task")
    assert task.enabled and task.interval.every == 60


def test_pruning_keeps_every_change_a_slow_dataflow_has_not_read(sink):
    segment = vip_segment()
    fast, slow = dataflow_for([segment]), dataflow_for([segment])
    for n in range(5):
        upsert(f"p{n}@example.com", {**GOLD, "personalEmail": {"address": f"p{n}@example.com"}})
    export(fast, sink)
    written = ProfileChange.objects.count()

    assert prune() == 0, "the slow dataflow has read none of them"
    assert ProfileChange.objects.count() == written

    sink.clear()
    export(slow, sink)
    assert len(documents(sink)) == 5
    assert prune() == written
    assert ProfileChange.objects.count() == 0


def test_the_safety_window_keeps_recent_changes_everyone_has_read(sink, settings):
    settings.CHANGE_LOG_SAFETY_WINDOW_S = 600
    dataflow = dataflow_for([vip_segment()])
    upsert("ann@example.com", GOLD)
    export(dataflow, sink)

    assert prune() == 0
    assert ProfileChange.objects.count() == 1
    assert services.change_log_prune(now=timezone.now() + dt.timedelta(minutes=11)) == 1


def test_an_idle_dataflow_does_not_hold_the_log(sink, enqueued):
    """Changes of nobody in its audience: the tick moves its cursor, the log empties."""
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, sink)  # its activation's (empty) backfill
    enqueued.clear()
    upsert("outsider@example.com", {"loyalty": {"tier": "bronze"}})
    settle_changes()

    services.dataflows_tick()

    assert enqueued == []
    assert prune() == 1


def test_a_disabled_dataflow_holds_the_log_up_to_the_retention_then_reexports(sink):
    segment = vip_segment()
    dataflow = dataflow_for([segment])
    member("ann@example.com", "Ann")
    member("bob@example.com", "Bob")
    export(dataflow, sink)
    Dataflow.objects.filter(pk=dataflow.pk).update(status=DataflowStatus.DISABLED)

    # While it is disabled: Ann changes, Bob leaves, Carl joins.
    member("ann@example.com", "Ann2")
    upsert("bob@example.com", {"loyalty": {"tier": "silver"}})
    member("carl@example.com", "Carl")
    missed = ProfileChange.objects.count()

    assert prune(days_later=6) < missed, "within retention the disabled dataflow holds the log"
    assert ProfileChange.objects.count() >= 3

    prune(days_later=8)
    assert ProfileChange.objects.count() == 0, "past retention it lets go"
    backfill = Backfill.objects.get(dataflow=dataflow, reason=services.RETENTION_BACKFILL)
    assert backfill.status == BackfillStatus.PENDING and backfill.exited_since is not None
    assert backfill.total == 3  # Ann and Carl, and Bob who left

    Dataflow.objects.filter(pk=dataflow.pk).update(status=DataflowStatus.ENABLED)
    sink.clear()
    export(dataflow, sink)

    # Partitioned by e-mail: one record per profile, keyed by its address.
    status = {
        key: ups(document) for document, (_, key) in zip(documents(sink), sink.entries, strict=True)
    }
    assert status == {
        "ann@example.com": "existing",
        "bob@example.com": "exited",
        "carl@example.com": "realized",
    }
    assert first_name(sink, "ann@example.com") == "Ann2"


@pytest.mark.slow
def test_a_long_running_writer_is_never_pruned_past(sink):
    """An uncommitted change with an old transaction id while newer ones commit and
    the log is pruned: once it commits, it is still read and exported."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: transaction ids and the horizon are PostgreSQL's")
    dataflow = dataflow_for([vip_segment()])
    wrote, may_commit, failed = threading.Event(), threading.Event(), []

    def long_writer():
        try:
            with transaction.atomic():
                upsert("slow@example.com", {**GOLD, "personalEmail": {"address": "slow@x.io"}})
                wrote.set()
                may_commit.wait(30)
        except Exception as exc:  # surfaced below
            failed.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=long_writer, daemon=True)
    writer.start()
    assert wrote.wait(30)
    upsert("fast@example.com", {**GOLD, "personalEmail": {"address": "fast@x.io"}})

    services.dataflow_run(dataflow_id=dataflow.pk, sink=sink, budget_s=30)
    services.change_log_prune(now=timezone.now() + dt.timedelta(days=30))
    may_commit.set()
    writer.join(30)
    assert not failed

    export(dataflow, sink)
    exported = {d["personalEmail"]["address"] for d in documents(sink)}
    assert exported == {"slow@x.io", "fast@x.io"}


def test_history_that_grows_with_time_has_a_retention(settings):
    """Hourly runs (and their issues), finished backfills, resolved alerts and audit
    entries past their retention go; recent ones and open alerts stay."""
    from alerts.models import Alert
    from audit.models import AuditEntry
    from tests.factories import AlertFactory, BackfillFactory, ExportRunFactory, RunIssueFactory

    settings.HISTORY_RETENTION_DAYS, settings.AUDIT_RETENTION_DAYS = 90, 365
    dataflow = dataflow_for([vip_segment()])
    now = timezone.now()
    old, recent = now - dt.timedelta(days=91), now - dt.timedelta(days=20)
    old_run = ExportRunFactory(dataflow=dataflow, window_start=old)
    RunIssueFactory(run=old_run)
    recent_run = ExportRunFactory(dataflow=dataflow, window_start=recent)
    Backfill.objects.all().delete()
    old_backfill = BackfillFactory(dataflow=dataflow, status=BackfillStatus.DONE, finished_at=old)
    BackfillFactory(dataflow=dataflow, status=BackfillStatus.DONE, finished_at=recent)
    gone = AlertFactory(dataflow=dataflow, resolved_at=old)
    still_open = AlertFactory(dataflow=dataflow, dedupe_key="open", resolved_at=None)
    Alert.objects.filter(pk=still_open.pk).update(created_at=old)
    assert AuditEntry.objects.exists()
    AuditEntry.objects.update(created_at=now - dt.timedelta(days=366))

    services.deliveries_prune()

    assert list(ExportRun.objects.values_list("pk", flat=True)) == [recent_run.pk]
    assert not Backfill.objects.filter(pk=old_backfill.pk).exists()
    assert Backfill.objects.count() == 1
    assert list(Alert.objects.values_list("pk", flat=True)) == [still_open.pk]
    assert gone.pk != still_open.pk
    assert not AuditEntry.objects.exists()
