"""Run accounting: every figure counts distinct profiles, each once per run window in
its final outcome (SPEC §5 "What the figures mean"), and the dataflow tells the truth
while delivery waits."""

import datetime as dt

import pytest
from django.db.models import F

from activation.export import services
from activation.export.sinks import MemorySink
from activation.models import Dataflow, ExportRun, RunIssue
from destinations.kinesis.aws import EndpointUnreachable, Throttled
from tests.activation.export.conftest import (
    dataflow_for,
    export,
    no_wait_policy,
    segment_of,
    upsert,
    vip_segment,
)

pytestmark = pytest.mark.django_db(transaction=True)


def gold(email: str, first_name: str = "Ann") -> int:
    return upsert(
        email, {"loyalty": {"tier": "gold"}, "person": {"name": {"firstName": first_name}}}
    )


def figures(run: ExportRun) -> tuple[int, int, int, int, int]:
    run.refresh_from_db()
    return (
        run.profiles_received,
        run.identities_activated,
        run.identities_excluded,
        run.identities_failed,
        run.delivered_after_retries,
    )


def stuck_at_once():
    policy = no_wait_policy()
    policy.stuck_after_s = 0
    return policy


class FlakySink(MemorySink):
    """Fails its first `failures` calls with `error`; sees the dataflow while it waits."""

    def __init__(self, error: Exception, failures: int) -> None:
        super().__init__()
        self.error, self.failures = error, failures
        self.messages_seen: list[str] = []

    def put_records(self, entries):
        self.messages_seen.append(Dataflow.objects.values_list("status_message", flat=True)[0])
        if self.failures:
            self.failures -= 1
            self.calls += 1
            raise self.error
        return super().put_records(entries)


def test_a_profile_changed_twice_in_a_window_counts_once(sink):
    dataflow = dataflow_for([vip_segment()])
    ids = [gold("a@example.com"), gold("b@example.com")]
    export(dataflow, sink)
    gold("a@example.com", first_name="Anna")
    export(dataflow, sink)

    assert len(sink.entries) == 3, "the second change was sent"
    run = ExportRun.objects.get(dataflow=dataflow)
    assert figures(run) == (2, 2, 0, 0, 0)
    assert run.status == "success" and len(ids) == 2


def test_retries_within_a_run_count_the_profile_once_as_delivered_after_retries():
    dataflow = dataflow_for([vip_segment()])
    gold("a@example.com")
    gold("b@example.com")
    sink = FlakySink(Throttled("Rate exceeded for the stream."), failures=2)

    report = export(dataflow, sink)

    assert report.state == "caught_up" and report.delivered == 2
    run = ExportRun.objects.get(dataflow=dataflow)
    assert figures(run) == (2, 2, 0, 0, 2) and run.status == "success"
    assert set(RunIssue.objects.values_list("kind", "attempts", "error_code")) == {
        ("retried", 3, "ProvisionedThroughputExceededException")
    }


def test_the_delay_shows_at_the_first_failed_attempt_and_clears_on_delivery():
    dataflow = dataflow_for([vip_segment()])
    gold("a@example.com")
    sink = FlakySink(EndpointUnreachable("Could not connect."), failures=1)

    export(dataflow, sink)

    # Seen by the retry, during the run: not only once the run gives up.
    assert sink.messages_seen == [
        "",
        "Delivery delayed: Kinesis cannot be reached; 1 profile is waiting. "
        "Retrying automatically; nothing to do.",
    ]
    dataflow.refresh_from_db()
    assert (dataflow.status_message, dataflow.last_error_code) == ("", "")


def test_delivered_then_failed_in_the_same_window_ends_failed_until_delivered(faulty_sink):
    dataflow = dataflow_for([vip_segment()])
    gold("a@example.com")
    export(dataflow, faulty_sink)
    gold("a@example.com", first_name="Anna")
    faulty_sink.error = EndpointUnreachable("Could not connect.")
    export(dataflow, faulty_sink, policy=stuck_at_once())
    export(dataflow, faulty_sink, policy=stuck_at_once())

    run = ExportRun.objects.get(dataflow=dataflow)
    # Its latest change is not delivered: the profile's final outcome so far is failed.
    assert figures(run) == (1, 0, 0, 1, 0) and run.status == "failed"
    assert list(RunIssue.objects.values_list("kind", "attempts")) == [("failed", 2)]

    faulty_sink.error = None
    export(dataflow, faulty_sink)

    assert figures(run) == (1, 1, 0, 0, 1)
    run.refresh_from_db()
    assert run.status == "success"
    assert list(RunIssue.objects.values_list("kind", "attempts")) == [("retried", 3)]


def test_a_later_delivery_moves_an_earlier_windows_failure_to_delivered(faulty_sink):
    dataflow = dataflow_for([vip_segment()])
    gold("a@example.com")
    faulty_sink.error = EndpointUnreachable("Could not connect.")
    export(dataflow, faulty_sink, policy=stuck_at_once())
    # The outage outlasts the hour: the failure belongs to the previous window.
    ExportRun.objects.update(window_start=F("window_start") - dt.timedelta(hours=1))
    earlier = ExportRun.objects.get()
    assert figures(earlier) == (1, 0, 0, 1, 0)

    faulty_sink.error = None
    export(dataflow, faulty_sink)

    assert figures(earlier) == (1, 1, 0, 0, 1)
    earlier.refresh_from_db()
    assert earlier.status == "success"
    current = ExportRun.objects.exclude(pk=earlier.pk).get()
    assert figures(current) == (1, 1, 0, 0, 0)


def test_backfill_progress_counts_each_profile_once_across_overlapping_segments(sink):
    vip = vip_segment()
    named = segment_of("Named", {"path": "person.name.firstName", "op": "exists"})
    for n in range(3):
        gold(f"both{n}@example.com")
    for n in range(2):
        upsert(f"named{n}@example.com", {"person": {"name": {"firstName": "Bo"}}})
    dataflow = dataflow_for([vip, named], activate=False)

    services.dataflow_activate(dataflow=dataflow)

    dataflow.refresh_from_db()
    assert (dataflow.backfill_done, dataflow.backfill_total) == (0, 5), "5 profiles, not 8"
    export(dataflow, sink)
    dataflow.refresh_from_db()
    assert (dataflow.backfill_done, dataflow.backfill_total) == (5, 5)
    assert len(sink.entries) == 5
