"""Runs: position only after success, Error and recovery, the lock, backfills, accounting."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from activation.export import runner, services
from activation.export.locking import lock_claim, lock_release
from activation.models import (
    Backfill,
    Dataflow,
    DataflowSegment,
    DeliveryLog,
    ExportRun,
    RunIssue,
)
from alerts.models import Alert
from destinations.kinesis.aws import AccessDenied, EndpointUnreachable
from tests.activation.export.conftest import (
    dataflow_for,
    documents_by_key,
    export,
    no_wait_policy,
    segment_of,
    settle_changes,
    upsert,
    vip_segment,
)

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = {"loyalty": {"tier": "gold"}}
DENIED = AccessDenied(
    "Access denied: access key AKIA…MPLE is not allowed to call kinesis:PutRecords.",
    action="kinesis:PutRecords",
)


def cursor(dataflow: Dataflow) -> tuple[int, int]:
    dataflow.refresh_from_db()
    return dataflow.cursor_txid, dataflow.cursor_change_id


def members(count: int, prefix: str = "m") -> list[int]:
    return [upsert(f"{prefix}{n}@example.com", GOLD) for n in range(count)]


def test_a_permanent_error_sets_error_with_an_alert_and_keeps_everything_pending(faulty_sink):
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, faulty_sink)
    before = cursor(dataflow)
    members(3)
    faulty_sink.error = DENIED

    report = export(dataflow, faulty_sink)

    dataflow.refresh_from_db()
    assert report.state == "stopped"
    assert dataflow.status == "error"
    assert dataflow.status_message == (
        "Cannot deliver: the connection's credentials are not allowed to call "
        "kinesis:PutRecords; 3 profiles are waiting. Needs you: allow kinesis:PutRecords in "
        "the IAM policy (the connection's page shows the policy); everything pending is sent "
        "right after."
    )
    assert dataflow.last_error_code == "AccessDeniedException"
    assert cursor(dataflow) == before
    # The connection's own problem: it is Failing at once, with one alert for the cause.
    dataflow.connection.refresh_from_db()
    assert dataflow.connection.health == "failing"
    alert = Alert.objects.get(resolved_at__isnull=True)
    assert alert.dedupe_key == f"connection_unhealthy:{dataflow.connection_id}"
    assert "not allowed to call kinesis:PutRecords" in alert.title
    run = ExportRun.objects.get(dataflow=dataflow)
    assert (run.profiles_received, run.identities_failed, run.status) == (3, 3, "failed")
    assert set(RunIssue.objects.values_list("kind", "error_code", "attempts")) == {
        ("failed", "AccessDeniedException", 1)
    }


def test_after_the_fix_everything_pending_arrives_and_the_alert_resolves(faulty_sink):
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, faulty_sink)
    members(3)
    faulty_sink.error = DENIED
    export(dataflow, faulty_sink)
    export(dataflow, faulty_sink)

    faulty_sink.error = None
    report = export(dataflow, faulty_sink)

    dataflow.refresh_from_db()
    assert report.state == "caught_up"
    assert set(documents_by_key(faulty_sink)) == {f"m{n}@example.com" for n in range(3)}
    assert (dataflow.status, dataflow.status_message, dataflow.failure_count) == ("enabled", "", 0)
    # The delivery proved the connection healthy again and resolved its alert.
    dataflow.connection.refresh_from_db()
    assert dataflow.connection.health == "ok"
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()
    # Each profile once, in its final outcome: delivered after 2 failed attempts.
    run = ExportRun.objects.get(dataflow=dataflow)
    assert (
        run.profiles_received,
        run.identities_activated,
        run.identities_failed,
        run.delivered_after_retries,
        run.status,
    ) == (3, 3, 0, 3, "success")
    assert set(RunIssue.objects.values_list("kind", "error_code", "attempts")) == {
        ("retried", "AccessDeniedException", 3)
    }


def test_a_persisting_transient_error_shows_a_delay_and_retries_later(faulty_sink, enqueued):
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, faulty_sink)
    members(2)
    faulty_sink.error = EndpointUnreachable("Could not connect to the Kinesis endpoint.")
    enqueued.clear()

    report = export(dataflow, faulty_sink, policy=no_wait_policy_stuck_at_once())

    dataflow.refresh_from_db()
    assert report.state == "stopped"
    assert dataflow.status == "enabled"
    assert dataflow.status_message == (
        "Delivery delayed: Kinesis cannot be reached; 2 profiles are waiting. "
        "Retrying automatically; nothing to do."
    )
    assert dataflow.last_error_code == "EndpointUnreachable"
    assert dataflow.retry_at > timezone.now()
    [(queued_id, countdown)] = enqueued
    # Queued for the retry time (first failure: 1.6-2 s after it), not at once.
    assert queued_id == dataflow.pk
    assert 0 < countdown <= 2.0
    assert not Alert.objects.exists()  # a short outage is shown, not alerted


def no_wait_policy_stuck_at_once():
    policy = no_wait_policy()
    policy.stuck_after_s = 0
    return policy


def test_a_long_outage_is_alerted(faulty_sink):
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, faulty_sink)
    members(1)
    faulty_sink.error = EndpointUnreachable("Could not connect to the Kinesis endpoint.")

    for _ in range(services.DELAY_ALERT_AFTER_FAILURES):
        export(dataflow, faulty_sink, policy=no_wait_policy_stuck_at_once())

    assert "deliveries delayed" in Alert.objects.get().title


def test_a_run_skips_a_dataflow_another_run_holds(sink):
    dataflow = dataflow_for([vip_segment()])
    members(1)
    token = lock_claim(dataflow.pk)

    assert export(dataflow, sink).state == "locked"
    assert sink.entries == []

    lock_release(dataflow.pk, token)
    assert export(dataflow, sink).state == "caught_up"
    assert len(sink.entries) == 1


def test_a_dead_runs_expired_lease_is_taken_over(sink):
    dataflow = dataflow_for([vip_segment()])
    members(1)
    lock_claim(dataflow.pk)
    Dataflow.objects.filter(pk=dataflow.pk).update(
        locked_until=timezone.now() - dt.timedelta(seconds=1)
    )

    assert export(dataflow, sink).state == "caught_up"
    assert len(sink.entries) == 1


def test_a_run_that_lost_its_lock_never_moves_the_cursor(sink, monkeypatch):
    dataflow = dataflow_for([vip_segment()])
    members(2)
    before = cursor(dataflow)
    original = sink.put_records

    def taken_over(entries):
        # Our lease lapsed and another run claimed the dataflow meanwhile.
        Dataflow.objects.filter(pk=dataflow.pk).update(lock_token="someone-else")
        return original(entries)

    monkeypatch.setattr(sink, "put_records", taken_over)

    assert export(dataflow, sink).state == "lock_lost"
    assert cursor(dataflow) == before
    assert Dataflow.objects.get(pk=dataflow.pk).lock_token == "someone-else"


def test_a_disabled_dataflow_sends_nothing_and_keeps_its_place(sink):
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, sink)
    Dataflow.objects.filter(pk=dataflow.pk).update(status="disabled")
    before = cursor(dataflow)
    members(2)

    assert export(dataflow, sink).state == "inactive"
    assert cursor(dataflow) == before

    Dataflow.objects.filter(pk=dataflow.pk).update(status="enabled")
    export(dataflow, sink)
    assert len(sink.entries) == 2


def test_a_backfill_goes_in_chunks_and_resumes_where_it_stopped(faulty_sink, monkeypatch):
    monkeypatch.setattr(runner, "BACKFILL_CHUNK", 50)
    segment = vip_segment()
    ids = members(120)
    dataflow = dataflow_for([segment])
    backfill = Backfill.objects.get(dataflow=dataflow)
    assert backfill.total == 120

    report = export(dataflow, faulty_sink, budget_s=0)
    backfill.refresh_from_db()
    assert report.state == "more"
    assert (backfill.status, backfill.processed, backfill.last_profile_id) == (
        "running",
        50,
        sorted(ids)[49],
    )

    faulty_sink.error = DENIED
    export(dataflow, faulty_sink)
    backfill.refresh_from_db()
    assert backfill.processed == 50

    faulty_sink.error = None
    export(dataflow, faulty_sink)
    backfill.refresh_from_db()
    assert (backfill.status, backfill.processed, backfill.total) == ("done", 120, 120)
    keys = [key for _, key in faulty_sink.entries]
    assert set(keys) == {f"m{n}@example.com" for n in range(120)}
    assert len(keys) == 120  # the failed chunk was never half-sent


class _CallSizes:
    """Counts the records of each PutRecords call a sink takes (one call per chunk here)."""

    def __init__(self, sink, monkeypatch) -> None:
        self.sizes: list[int] = []
        put_records = sink.put_records

        def counted(entries):
            self.sizes.append(len(entries))
            return put_records(entries)

        monkeypatch.setattr(sink, "put_records", counted)


@pytest.mark.parametrize(
    ("limits", "count", "sizes"),
    [
        # Small records: each chunk twice the last, up to the maximum.
        ({"BACKFILL_MAX_CHUNK": 40}, 100, [10, 20, 40, 30]),
        # Any record is larger than this: one member per chunk after the first.
        ({"BACKFILL_CHUNK_BYTES": 1}, 15, [10, 1, 1, 1, 1, 1]),
    ],
    ids=["grow while records are small", "shrink when records are large"],
)
def test_a_backfills_chunks_follow_its_record_sizes(sink, monkeypatch, limits, count, sizes):
    monkeypatch.setattr(runner, "BACKFILL_CHUNK", 10)
    for name, value in limits.items():
        monkeypatch.setattr(runner, name, value)
    calls = _CallSizes(sink, monkeypatch)
    segment = vip_segment()
    members(count)
    dataflow = dataflow_for([segment])

    export(dataflow, sink)

    assert calls.sizes == sizes
    assert len(sink.entries) == Backfill.objects.get(dataflow=dataflow).processed == count


def test_a_chunk_read_ahead_is_dropped_when_the_backfill_is_replaced_meanwhile(
    sink, enqueued, monkeypatch
):
    # On PostgreSQL a run reads its next backfill chunk while it sends this one.
    monkeypatch.setattr(runner, "BACKFILL_CHUNK", 10)
    calls = _CallSizes(sink, monkeypatch)
    segment = vip_segment()
    members(30)
    dataflow = dataflow_for([segment])
    put_records = sink.put_records

    def replay_after_the_first_chunk(entries):
        if not calls.sizes:  # the marketer replays the segment meanwhile
            services.backfill_start(dataflow=dataflow, segment_ids=[segment.pk], reason="replay")
        return put_records(entries)

    monkeypatch.setattr(sink, "put_records", replay_after_the_first_chunk)

    export(dataflow, sink)

    # The first chunk, then the replay's 30 from its start (not the first backfill's rest).
    assert calls.sizes == [10, 20, 10]
    replay = Backfill.objects.get(dataflow=dataflow, reason="replay")
    assert (replay.status, replay.processed) == ("done", 30)
    first = Backfill.objects.get(dataflow=dataflow, reason="activation")
    assert (first.status, first.processed) == ("cancelled", 0)


def test_a_backfill_started_during_a_run_of_changes_gets_a_run_of_its_own(sink, enqueued):
    segment = vip_segment()
    dataflow = dataflow_for([segment])
    export(dataflow, sink)  # the activation's backfill: nobody yet
    members(3)
    put_records = sink.put_records

    def replay_while_sending(entries):
        if not Backfill.objects.filter(dataflow=dataflow, reason="replay").exists():
            services.backfill_start(dataflow=dataflow, segment_ids=[segment.pk], reason="replay")
        return put_records(entries)

    sink.put_records = replay_while_sending
    enqueued.clear()

    assert export(dataflow, sink).changes_read == 3
    assert Backfill.objects.get(dataflow=dataflow, reason="replay").status == "pending"
    assert dataflow.pk in {dataflow_id for dataflow_id, _ in enqueued}  # its own run

    assert export(dataflow, sink).backfill_profiles == 3
    assert Backfill.objects.get(dataflow=dataflow, reason="replay").status == "done"
    assert len(sink.entries) == 6


def test_backfills_of_several_segments_send_each_member_once(sink):
    vip = vip_segment()
    emailable = segment_of("Emailable", {"path": "personalEmail.address", "op": "exists"})
    for n in range(30):
        upsert(f"m{n}@example.com", {**GOLD, "personalEmail": {"address": f"m{n}@example.com"}})
    for n in range(10):
        upsert(f"e{n}@example.com", {"personalEmail": {"address": f"e{n}@example.com"}})
    dataflow = dataflow_for([vip, emailable])

    export(dataflow, sink)

    keys = [key for _, key in sink.entries]
    assert len(keys) == len(set(keys)) == 40
    assert {b.processed for b in Backfill.objects.filter(dataflow=dataflow)} == {30, 40}
    dataflow.refresh_from_db()
    assert dataflow.last_activity_at is not None, "a backfill's deliveries are activity"


def test_changes_that_export_nothing_are_not_activity(sink):
    vip = vip_segment()
    dataflow = dataflow_for([vip])
    export(dataflow, sink)
    dataflow.refresh_from_db()
    assert dataflow.last_activity_at is None
    cursor_before = dataflow.cursor_change_id
    upsert("nobody@example.com", {"loyalty": {"tier": "bronze"}})
    export(dataflow, sink)
    dataflow.refresh_from_db()
    assert sink.entries == []
    assert dataflow.cursor_change_id > cursor_before, "the change was read"
    assert dataflow.last_activity_at is None


def test_a_backfill_of_an_unmapped_segment_is_cancelled(sink):
    segment = vip_segment()
    members(3)
    dataflow = dataflow_for([segment])
    DataflowSegment.objects.filter(dataflow=dataflow).delete()

    export(dataflow, sink)

    assert Backfill.objects.get().status == "cancelled"
    assert sink.entries == []


def test_backfill_start_refuses_unmapped_segments_and_replaces_an_open_one():
    segment = vip_segment()
    dataflow = dataflow_for([segment])

    with pytest.raises(ValueError, match="not mapped"):
        services.backfill_start(dataflow=dataflow, segment_ids=[vip_segment().pk])

    services.backfill_start(dataflow=dataflow, segment_ids=[str(segment.pk)], reason="replay")
    assert sorted(Backfill.objects.values_list("reason", "status")) == [
        ("activation", "cancelled"),
        ("replay", "pending"),
    ]


def test_each_delivery_is_logged_and_counted_in_the_hours_run(sink):
    dataflow = dataflow_for([vip_segment()])
    ids = members(3)

    hour_before = timezone.now().replace(minute=0, second=0, microsecond=0)
    export(dataflow, sink)
    hour_after = timezone.now().replace(minute=0, second=0, microsecond=0)

    run = ExportRun.objects.get(dataflow=dataflow)
    # The run's window is the hour it ran in (either side of a run that crosses the hour).
    assert run.window_start in {hour_before, hour_after}
    assert (run.profiles_received, run.identities_activated, run.status) == (3, 3, "success")
    assert run.identities_excluded == run.identities_failed == 0
    logs = DeliveryLog.objects.filter(dataflow=dataflow)
    assert sorted(logs.values_list("profile_id", flat=True)) == sorted(ids)
    log = logs.first()
    assert log.shard_id.startswith("shardId-") and log.sequence_number
    assert log.reason == "segment" and len(log.record_id) == 32
    record_ids = set(logs.values_list("record_id", flat=True))
    assert len(record_ids) == 3
    assert record_ids == {json.loads(data)["_id"] for data, _ in sink.entries}
    dataflow.refresh_from_db()
    assert dataflow.last_activity_at is not None


def test_old_deliveries_are_pruned(sink):
    dataflow = dataflow_for([vip_segment()])
    members(2)
    export(dataflow, sink)
    DeliveryLog.objects.filter(profile_id=DeliveryLog.objects.first().profile_id).update(
        sent_at=timezone.now() - dt.timedelta(days=31)
    )

    old_run = ExportRun.objects.create(
        dataflow=dataflow, window_start=timezone.now() - dt.timedelta(days=40)
    )
    RunIssue.objects.create(run=old_run, profile_id=1, kind="failed", error_code="X", reason="x")
    RunIssue.objects.create(
        run=ExportRun.objects.exclude(pk=old_run.pk).get(),
        profile_id=2,
        kind="failed",
        error_code="Y",
        reason="y",
    )

    assert services.deliveries_prune() == 2
    assert DeliveryLog.objects.count() == 1
    assert list(RunIssue.objects.values_list("error_code", flat=True)) == ["Y"]


def test_a_deleted_profile_is_skipped(sink):
    from profiles.models import Profile

    dataflow = dataflow_for([vip_segment()])
    gone, kept = members(2)
    Profile.objects.filter(pk=gone).delete()

    settle_changes()
    export(dataflow, sink)

    assert [key for _, key in sink.entries] == ["m1@example.com"]
    assert kept


def test_an_unexpected_error_is_shown_and_retried_not_raised(faulty_sink):
    dataflow = dataflow_for([vip_segment()])
    members(1)
    faulty_sink.error = RuntimeError("socket exploded")

    report = export(dataflow, faulty_sink)

    dataflow.refresh_from_db()
    assert report.state == "stopped"
    # No exception text for marketers (it is in the log), the class name in its own field.
    assert dataflow.status_message == (
        "Delivery delayed: the export stopped on an unexpected error; 1 profile is waiting. "
        "Retrying automatically; if this lasts, tell your administrator."
    )
    assert dataflow.retry_at is not None and dataflow.last_error_code == "RuntimeError"
    faulty_sink.error = None
    assert export(dataflow, faulty_sink).delivered == 1
