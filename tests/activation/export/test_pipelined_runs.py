"""Pipelined runs: a chunk of changes is sent while the next is read and built.

Chunks are made small here (CHANGE_CHUNK = 4) so a run of a few profiles has
several chunks and goes through the sender thread (runner.ChunkSender).
"""

import json

import pytest

from activation.export import runner
from activation.export.records import record_id_for
from activation.export.sinks import MemorySink
from activation.models import Dataflow, DeliveryLog
from destinations.kinesis.aws import AccessDenied, EndpointUnreachable
from profiles.models import ProfileChange
from tests.activation.export.conftest import dataflow_for, export, upsert, vip_segment

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = {"loyalty": {"tier": "gold"}}
CHUNK = 4


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Small chunks; the sizes of the chunks handed to the sender thread."""
    monkeypatch.setattr(runner, "CHANGE_CHUNK", CHUNK)
    sizes: list[int] = []
    submit = runner.ChunkSender.submit

    def spy(self: runner.ChunkSender, chunk: runner.BuiltChunk) -> runner.InFlight:
        sizes.append(len(chunk.items))
        return submit(self, chunk)

    monkeypatch.setattr(runner.ChunkSender, "submit", spy)
    return sizes


def gold_members(count: int) -> list[int]:
    return [upsert(f"p{n}@example.com", GOLD) for n in range(count)]


def cursor(dataflow: Dataflow) -> tuple[int, int]:
    dataflow.refresh_from_db()
    return dataflow.cursor_txid, dataflow.cursor_change_id


def last_change() -> tuple[int, int]:
    change = ProfileChange.objects.order_by("-txid", "-id").first()
    return change.txid, change.id


class StopsAfter(MemorySink):
    """Accepts `calls` PutRecords calls, then refuses every call with `error`."""

    def __init__(self, calls: int, error: Exception) -> None:
        super().__init__()
        self.allowed, self.error = calls, error
        self.attempts = 0

    def put_records(self, entries):
        self.attempts += 1
        if self.allowed <= 0:
            raise self.error
        self.allowed -= 1
        return super().put_records(entries)


def enabled_dataflow() -> Dataflow:
    """A dataflow of the VIP segment, its (empty) activation backfill done."""
    dataflow = dataflow_for([vip_segment()])
    export(dataflow, MemorySink())
    return dataflow


def test_a_pipelined_run_sends_every_chunk_once_in_order_and_records_each(submitted):
    dataflow = enabled_dataflow()
    ids = gold_members(10)
    again = upsert("p0@example.com", {"person": {"name": {"firstName": "Later"}}})
    sink = MemorySink()

    report = export(dataflow, sink)

    assert report.state == "caught_up" and report.delivered == 11
    assert len(submitted) > 1 and sum(submitted) == 11, "chunks went through the sender thread"
    assert len(sink.entries) == 11 and DeliveryLog.objects.count() == 11
    assert cursor(dataflow) == last_change()
    # p0 changed in the first chunk and again in the last: its records keep that order.
    assert again == ids[0]
    seed = f"{dataflow.pk}:{dataflow.created_at.isoformat()}"
    changes = ProfileChange.objects.filter(profile_id=ids[0]).order_by("id")
    expected = [record_id_for(seed, ids[0], f"change:{c.id}") for c in changes][-2:]
    sent = [json.loads(data)["_id"] for data, key in sink.entries if key == "p0@example.com"]
    assert sent == expected


def test_a_stop_in_a_pipelined_chunk_keeps_the_cursor_after_the_last_recorded_chunk(submitted):
    dataflow = enabled_dataflow()
    gold_members(13)
    denied = AccessDenied("Access denied.", action="kinesis:PutRecords")

    stopping = StopsAfter(2, denied)
    report = export(dataflow, stopping)

    assert report.state == "stopped" and report.delivered == 2 * CHUNK
    # The chunk queued behind the refused one was never sent.
    assert len(submitted) > 3 and stopping.attempts == 3
    assert DeliveryLog.objects.count() == 2 * CHUNK
    recorded = cursor(dataflow)
    assert recorded < last_change()
    # The chunk read after the failed one was never recorded: the next run sends it.
    sink = MemorySink()
    Dataflow.objects.filter(pk=dataflow.pk).update(status="enabled")
    assert export(dataflow, sink).state == "caught_up"
    assert len({key for _, key in sink.entries}) == 13 - 2 * CHUNK
    assert cursor(dataflow) == last_change()


class SlowToRecover(MemorySink):
    """Refuses its second call (Kinesis unreachable) once; sees the dataflow's status
    at every call (from the sender thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages_seen: list[str] = []
        self.failed = False

    def put_records(self, entries):
        self.messages_seen.append(Dataflow.objects.values_list("status_message", flat=True)[0])
        if len(self.messages_seen) == 2 and not self.failed:
            self.failed = True
            raise EndpointUnreachable("Could not connect.")
        return super().put_records(entries)


def test_the_delay_of_a_pipelined_chunk_shows_before_its_retry(submitted):
    dataflow = enabled_dataflow()
    gold_members(9)
    sink = SlowToRecover()

    report = export(dataflow, sink)

    assert report.state == "caught_up" and report.delivered == 9
    assert sink.messages_seen[2].startswith("Delivery delayed: Kinesis cannot be reached")
    dataflow.refresh_from_db()
    assert dataflow.status_message == ""
