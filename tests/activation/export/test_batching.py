"""PutRecords limits at their edges: 500 records, 5 MiB per call, 1 MiB per record."""

import json

import pytest

from activation.export.batching import MAX_BATCH_BYTES, record_limit, record_problem
from activation.export.delivery import Outgoing, deliver
from activation.export.records import MAX_RECORD_BYTES, BuiltRecord
from activation.export.sinks import MemorySink
from activation.models import RunIssue
from tests.activation.export.conftest import (
    dataflow_for,
    export,
    no_wait_policy,
    upsert,
    vip_segment,
)

MiB = 1024 * 1024


class CallRecorder:
    """A sink that accepts everything and remembers each call's entries."""

    def __init__(self):
        self.calls: list[list[tuple[bytes, str]]] = []

    def put_records(self, entries):
        from destinations.kinesis.aws import EntryResult

        self.calls.append(list(entries))
        return [EntryResult("shardId-0", str(i), None, None) for i in range(len(entries))]

    def call_sizes(self) -> list[int]:
        return [len(call) for call in self.calls]

    def call_bytes(self) -> list[int]:
        return [sum(len(d) + len(k.encode()) for d, k in call) for call in self.calls]


def record(profile_id: int, *, data_bytes: int = 10, key: str = "k") -> BuiltRecord:
    data = b"x" * data_bytes
    return BuiltRecord(
        profile_id=profile_id,
        record_id=f"r{profile_id}",
        data=data,
        partition_key=key,
        size_bytes=len(data) + len(key.encode()),
    )


def send(records: list[BuiltRecord]) -> CallRecorder:
    sink = CallRecorder()
    deliver(sink, [Outgoing(r, "attribute") for r in records], policy=no_wait_policy())
    return sink


def test_500_records_go_in_one_call():
    assert send([record(i) for i in range(500)]).call_sizes() == [500]


def test_501_records_take_two_calls():
    assert send([record(i) for i in range(501)]).call_sizes() == [500, 1]


def test_exactly_5_mib_goes_in_one_call():
    records = [record(i, data_bytes=MiB - 1) for i in range(5)]

    sink = send(records)

    assert sink.call_bytes() == [MAX_BATCH_BYTES]


def test_one_byte_over_5_mib_takes_two_calls():
    records = [record(i, data_bytes=MiB - 1) for i in range(4)] + [record(9, data_bytes=MiB)]

    sink = send(records)

    assert sink.call_sizes() == [4, 1]
    assert all(size <= MAX_BATCH_BYTES for size in sink.call_bytes())


def test_record_of_1_mib_including_its_key_is_accepted():
    key = "partition-key-é"
    at_limit = record(1, data_bytes=MAX_RECORD_BYTES - len(key.encode()), key=key)

    assert at_limit.size_bytes == MAX_RECORD_BYTES
    assert record_problem(at_limit) is None


def test_record_of_1_mib_minus_key_length_plus_one_byte_is_refused():
    key = "partition-key-é"
    over = record(1, data_bytes=MAX_RECORD_BYTES - len(key.encode()) + 1, key=key)

    code, reason = record_problem(over)

    assert code == "RecordTooLarge"
    assert "1,048,577 bytes" in reason


@pytest.mark.parametrize(("length", "ok"), [(0, False), (1, True), (256, True), (257, False)])
def test_partition_key_length_limits(length, ok):
    assert (record_problem(record(1, key="k" * length)) is None) is ok


@pytest.mark.django_db(transaction=True)
def test_an_oversize_profile_is_excluded_with_its_reason_and_the_others_go_on(sink):
    dataflow = dataflow_for([vip_segment()], attributes=["bio", "person.name.firstName"])
    # 9 x 40,000 three-byte characters: 1.08 MB in UTF-8 though 360,000 characters
    # (written in parts: one profile write takes at most 256 KiB).
    for part in range(9):
        big = upsert("big@example.com", {"bio": {f"p{part}": "€" * 40_000}})
    upsert("big@example.com", {"loyalty": {"tier": "gold"}})
    upsert("small@example.com", {"loyalty": {"tier": "gold"}, "bio": {"p0": "€" * 1000}})

    report = export(dataflow, sink)

    assert [key for _, key in sink.entries] == ["small@example.com"]
    assert json.loads(sink.entries[0][0])["bio"] == {"p0": "€" * 1000}
    issue = RunIssue.objects.get()
    assert (issue.kind, issue.error_code, issue.profile_id) == ("excluded", "RecordTooLarge", big)
    assert issue.identity == "big@example.com"
    assert report.excluded == 1 and report.delivered == 1


def test_a_stream_that_takes_larger_records_sets_the_limit_up_to_one_call():
    two_mib = record(1, data_bytes=2 * MiB)

    assert record_problem(two_mib)[0] == "RecordTooLarge"  # Kinesis' default 1 MiB
    assert record_problem(two_mib, record_limit(10 * MiB)) is None
    # A 10 MiB stream still gets at most one PutRecords call's 5 MiB per record.
    assert record_limit(10 * MiB) == MAX_BATCH_BYTES
    assert record_limit(None) == MAX_RECORD_BYTES


class LargeRecordSink(MemorySink):
    """A stream that reports MaxRecordSizeInKiB = 2048."""

    max_record_bytes = 2 * MiB


@pytest.mark.django_db(transaction=True)
def test_a_profile_over_1_mib_goes_to_a_stream_that_takes_it():
    dataflow = dataflow_for([vip_segment()], attributes=["bio"])
    for part in range(9):  # 1.08 MB in UTF-8, written in parts
        upsert("big@example.com", {"bio": {f"p{part}": "€" * 40_000}})
    upsert("big@example.com", {"loyalty": {"tier": "gold"}})
    sink = LargeRecordSink()

    report = export(dataflow, sink)

    assert [key for _, key in sink.entries] == ["big@example.com"]
    assert report.excluded == 0 and not RunIssue.objects.exists()
