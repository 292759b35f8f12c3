"""Poison: records the stream refuses for good, and profiles whose record cannot be
built, are excluded one by one with their reason while the rest of the dataflow goes on.

The first test runs the engine in-process against the local Kinesis with per-record
error codes injected at the AWS seam; the second runs a real Celery worker on the
broker over profiles a legacy store holds that no record can be built from.
"""

import pytest
from django.db import transaction

from activation.models import Backfill, Dataflow, DeliveryLog, RunIssue, RunIssueKind
from tests.conftest import wait_for
from tests.faults.conftest import STREAM, drain
from tests.support.consumer import mismatches, tally
from tests.support.faults import THROTTLED
from tests.support.world import store_raw_attributes

pytestmark = pytest.mark.fault

INVALID = "InvalidArgumentException"
UNKNOWN = "SomeCodeOnlyAnotherImplementationKnows"
HUGE_NUMBER = "1" + "0" * 5000  # more digits than Python reads


def refuse_some(record_id: str, attempt: int) -> str | None:
    """About one record in seven refused for good with each code; one in seven
    throttled on its first five sends (more than the bound on refusals)."""
    bucket = int(record_id[:8], 16) % 7
    if bucket == 0:
        return INVALID
    if bucket == 1:
        return UNKNOWN
    if bucket == 2 and attempt <= 5:
        return THROTTLED
    return None


def excluded_issues(dataflow):
    return RunIssue.objects.filter(run__dataflow=dataflow, kind=RunIssueKind.EXCLUDED)


def test_records_refused_per_record_are_excluded_with_their_code_after_three_sends(
    local_kinesis, injector, world, queued_runs
):
    dataflow = world.dataflow(stream=STREAM)
    injector.entry_faults = refuse_some
    ids = world.ingest(range(400))

    reports = drain(dataflow.pk)

    outcomes = {send.record_id: send.outcome for send in injector.sends}
    refused = {record for record, outcome in outcomes.items() if outcome in (INVALID, UNKNOWN)}
    sends = injector.send_counts()
    assert 60 < len(refused) < 180
    assert {sends[record] for record in refused} == {3}, "bounded: three sends each"
    throttled = {s.record_id for s in injector.sends if s.outcome == THROTTLED}
    assert throttled and {sends[record] for record in throttled} == {6}, "retried unbounded"
    issues = excluded_issues(dataflow)
    assert issues.count() == len(refused)
    assert set(issues.values_list("error_code", flat=True)) == {INVALID, UNKNOWN}
    assert all(f"({issue.error_code}): " in issue.reason for issue in issues)
    # The rest arrived, in one run, and nothing says "Delivery delayed".
    excluded = set(issues.values_list("profile_id", flat=True))
    entries = local_kinesis.read_stream(STREAM)
    delivered = [pid for pid in ids if pid not in excluded]
    assert mismatches(dataflow=dataflow, profile_ids=delivered, entries=entries) == []
    assert tally(entries).unique_records == len(delivered)
    assert [r.state for r in reports] == ["caught_up"]
    dataflow.refresh_from_db()
    assert (dataflow.status, dataflow.status_message) == ("enabled", "")


@pytest.mark.broker
def test_poison_profiles_never_stall_a_dataflow_a_worker_runs(worker, world, local_kinesis):
    members = world.ingest(range(60))
    poison = members[10:13]
    for profile_id in poison:  # a legacy row: the write path refuses this today
        store_raw_attributes(profile_id, '{"person": {"name": {"firstName": ' + HUGE_NUMBER + "}}}")
    worker.start()
    dataflow = world.dataflow(stream=STREAM)  # its backfill meets the poison
    wait_for(lambda: Backfill.objects.filter(dataflow=dataflow, status="done").exists(), seconds=90)

    with transaction.atomic():  # and a change of a poison profile among good ones
        later = world.ingest(range(60, 80), version="v2")
        [poisoned_later] = world.ingest([80])
        store_raw_attributes(poisoned_later, '{"person": {"age": ' + HUGE_NUMBER + "}}")
    wait_for(
        lambda: DeliveryLog.objects.filter(profile_id__in=later).count() == len(later),
        seconds=60,
    )

    good = [pid for pid in members if pid not in poison] + later
    entries = local_kinesis.read_stream(STREAM)
    assert mismatches(dataflow=dataflow, profile_ids=good, entries=entries) == []
    issues = excluded_issues(dataflow)
    assert sorted(issues.values_list("profile_id", flat=True)) == sorted([*poison, poisoned_later])
    assert {issue.error_code for issue in issues} == {"UnbuildableRecord"}
    assert all("stored data cannot be read" in issue.reason for issue in issues)
    dataflow = Dataflow.objects.get(pk=dataflow.pk)
    assert (dataflow.status, dataflow.status_message, dataflow.failure_count) == ("enabled", "", 0)
