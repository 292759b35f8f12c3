"""Retries under AWS faults: per-record failures, throttling storms, whole-call errors.

The engine runs in-process against the local Kinesis (moto server); faults are
injected at the AWS seam. Each test reads the stream back as a consumer would.
"""

import random
from collections import Counter

import pytest

from activation.export.delivery import RetryPolicy
from activation.models import Dataflow, DeliveryLog
from tests.faults.conftest import STREAM, drain, issue_attempts, run_figures
from tests.support.consumer import mismatches, tally
from tests.support.faults import (
    INTERNAL,
    KMS_THROTTLED,
    READ_TIMEOUT_DELIVERED,
    THROTTLED,
    every_nth_record_fails,
)

pytestmark = pytest.mark.fault


def delivered(dataflow, count):
    return lambda: DeliveryLog.objects.filter(dataflow=dataflow).count() >= count


class VirtualTime:
    """The retry policy's clock and sleep, without waiting: production backoff values run
    in no time, and every wait is recorded."""

    def __init__(self):
        self.now = 0.0
        self.waits = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


def test_only_failed_entries_are_resent_and_every_profile_arrives(
    local_kinesis, injector, world, queued_runs
):
    dataflow = world.dataflow(stream=STREAM)
    injector.entry_faults = every_nth_record_fails(every=3, attempts=2)
    ids = world.ingest(range(1200))

    drain(dataflow.pk, until=delivered(dataflow, 1200))

    failed = Counter(send.record_id for send in injector.failed_entries())
    assert {send.outcome for send in injector.failed_entries()} == {THROTTLED, INTERNAL}
    assert 200 < len(failed) < 600 and set(failed.values()) == {2}
    # Every record went out once, plus once per failure of its own: nothing else resent.
    assert all(count == failed[record] + 1 for record, count in injector.send_counts().items())
    assert injector.resent_after_success() == []
    entries = local_kinesis.read_stream(STREAM)
    assert (tally(entries).entries, tally(entries).duplicate_copies) == (1200, 0)
    assert mismatches(dataflow=dataflow, profile_ids=ids, entries=entries) == []


def test_a_throttling_storm_backs_off_exponentially_with_jitter_then_all_arrive(
    local_kinesis, injector, world, queued_runs
):
    dataflow = world.dataflow(stream=STREAM)
    ids = world.ingest(range(600))
    injector.storm(calls=10)
    time = VirtualTime()
    # The production backoff (0.1 s doubling to a 5 s cap) on a virtual clock.
    policy = RetryPolicy(
        base_s=0.1, cap_s=5.0, stuck_after_s=30, sleep=time.sleep, clock=time.clock,
        rng=random.Random(7),
    )  # fmt: skip

    drain(dataflow.pk, until=delivered(dataflow, 600), policy=policy)

    # One wait after each throttled call (no hot loop), none after a success.
    assert injector.failed_calls == {THROTTLED: 10}
    assert injector.calls == 10 + 2
    assert len(time.waits) == 10
    for attempt, wait in enumerate(time.waits):
        step = min(5.0, 0.1 * 2**attempt)
        assert step / 2 <= wait <= step
    assert len(set(time.waits[-4:])) == 4, "capped waits are jittered"
    # The first batch (500) arrived at its 11th attempt: activated, after retries.
    assert run_figures(dataflow) == (600, 600, 0, 0, 500)
    assert issue_attempts(dataflow) == {("retried", 11): 500}
    dataflow.refresh_from_db()
    assert dataflow.status_message == "", "the delay shown during the storm is cleared"
    # Throttling says nothing about the connection.
    assert dataflow.connection.health != "failing"
    entries = local_kinesis.read_stream(STREAM)
    assert tally(entries).duplicate_copies == 0
    assert mismatches(dataflow=dataflow, profile_ids=ids, entries=entries) == []


def test_a_storm_longer_than_a_run_delays_the_dataflow_then_it_recovers(
    local_kinesis, injector, world, queued_runs
):
    dataflow = world.dataflow(stream=STREAM)
    world.ingest(range(300))
    injector.storm(calls=1000)

    reports = drain_until_stopped(dataflow)

    assert reports[-1].error_code == THROTTLED
    dataflow.refresh_from_db()
    assert dataflow.status == "enabled"
    assert dataflow.failure_count == 1 and dataflow.retry_at is not None
    assert dataflow.status_message == (
        "Delivery delayed: the stream is at its capacity (throttled); 300 profiles are "
        "waiting. Retrying automatically; nothing to do. If it lasts, add shards to the stream."
    )
    assert run_figures(dataflow) == (300, 0, 0, 300, 0)
    # Profiles change again while their earlier state is still undelivered.
    ids = world.ingest(range(300), version="v2")
    injector.storm(calls=0)

    drain(dataflow.pk, until=delivered(dataflow, 300))

    dataflow.refresh_from_db()
    assert (dataflow.failure_count, dataflow.status_message, dataflow.retry_at) == (0, "", None)
    assert run_figures(dataflow) == (300, 300, 0, 0, 300)
    entries = local_kinesis.read_stream(STREAM)
    assert tally(entries).entries == 300, "throttled calls wrote nothing"
    assert mismatches(dataflow=dataflow, profile_ids=ids, entries=entries) == []


def drain_until_stopped(dataflow):
    from activation.export.services import dataflow_run

    reports = []
    for _ in range(20):
        reports.append(dataflow_run(dataflow_id=dataflow.pk))
        if reports[-1].state == "stopped":
            return reports
    raise AssertionError(f"never stopped: {[r.state for r in reports]}")


def test_whole_call_errors_are_retried_and_a_timeout_duplicates_but_never_loses(
    local_kinesis, injector, world, queued_runs
):
    dataflow = world.dataflow(stream=STREAM)
    ids = world.ingest(range(600))
    injector.call_script = [KMS_THROTTLED, INTERNAL, READ_TIMEOUT_DELIVERED]

    drain(dataflow.pk, until=delivered(dataflow, 600))

    assert injector.failed_calls == {KMS_THROTTLED: 1, INTERNAL: 1, READ_TIMEOUT_DELIVERED: 1}
    # The first batch (500) was sent four times with the same ids, the rest once.
    assert sorted(Counter(injector.send_counts().values()).items()) == [(1, 100), (4, 500)]
    entries = local_kinesis.read_stream(STREAM)
    seen = tally(entries)
    # The timed-out call had written its batch: those 500 arrive twice, same `_id`.
    assert (seen.entries, seen.unique_records, seen.duplicate_copies) == (1100, 600, 500)
    assert set(seen.records_per_key.values()) == {1}, "one record per profile after dedupe"
    assert mismatches(dataflow=dataflow, profile_ids=ids, entries=entries) == []
    assert Dataflow.objects.get(pk=dataflow.pk).failure_count == 0
