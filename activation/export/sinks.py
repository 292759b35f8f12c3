"""Where records go: the seam between the exporter and a stream.

A sink takes up to 500 (data, partition key) entries and answers one result
per entry, in order; per-entry failures come back as results, whole-call
failures are raised as `destinations.kinesis.aws.KinesisError`s (each
with `.code` and `.permanent`). `settings.EXPORT_SINK` names the factory a
run uses (`f(connection) -> Sink`):

* `kinesis_sink` (default): PutRecords through the project's one AWS seam.
  Tests inject faults below it, on botocore's events (`tests/support/aws_calls.py`),
  so the exporter's real retry path runs.
* `memory_sink`: accepts everything in-process (benchmarks, tests); one
  shared instance per process so a test or benchmark can inspect it.
"""

from __future__ import annotations

import threading
import time
import zlib
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from destinations.kinesis.aws import EntryResult

if TYPE_CHECKING:
    from activation.models import Dataflow
    from destinations.models import Connection


class Sink(Protocol):
    def put_records(self, entries: list[tuple[bytes, str]]) -> list[EntryResult]:
        """Write up to 500 entries; one result per entry, in order."""
        ...


class KinesisSink:
    """PutRecords into the connection's stream."""

    def __init__(self, connection: Connection) -> None:
        from destinations.kinesis.aws import credentials_for

        self.credentials = credentials_for(connection)
        self.stream_name = connection.stream_name

    def put_records(self, entries: list[tuple[bytes, str]]) -> list[EntryResult]:
        from destinations.kinesis.aws import put_records

        return put_records(self.credentials, self.stream_name, entries)

    @property
    def max_record_bytes(self) -> int | None:
        """The stream's MaxRecordSizeInKiB (DescribeStreamSummary, asked once per process
        and stream every 10 minutes); None when it cannot be read (the permission is
        optional): the exporter then keeps Kinesis' default 1 MiB."""
        from destinations.kinesis.aws import KinesisError, describe_stream_summary

        key = (self.credentials.region, self.stream_name)
        cached = _stream_limits.get(key)
        if cached and time.monotonic() - cached[0] < 600:
            return cached[1]
        try:
            limit = describe_stream_summary(self.credentials, self.stream_name).max_record_bytes
        except KinesisError:
            limit = None
        _stream_limits[key] = (time.monotonic(), limit)
        return limit


# (region, stream) -> (when asked, its record size limit or None), per process.
_stream_limits: dict[tuple[str, str], tuple[float, int | None]] = {}


class MemorySink:
    """Accepts every entry; keeps them (or only counts them) for inspection."""

    def __init__(self, *, keep: bool = True, shards: int = 4) -> None:
        self.keep = keep
        self.shards = shards
        self._shard_ids = [f"shardId-{shard:012d}" for shard in range(shards)]
        self.entries: list[tuple[bytes, str]] = []
        self.calls = 0
        self.accepted = 0
        self._lock = threading.Lock()

    def put_records(self, entries: list[tuple[bytes, str]]) -> list[EntryResult]:
        results = []
        with self._lock:
            self.calls += 1
            for data, key in entries:
                self.accepted += 1
                if self.keep:
                    self.entries.append((data, key))
                shard_id = self._shard_ids[zlib.crc32(key.encode("utf-8")) % self.shards]
                results.append(EntryResult(shard_id, f"{self.accepted:056d}", None, None))
        return results

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self.calls = self.accepted = 0


def kinesis_sink(connection: Connection) -> Sink:
    return KinesisSink(connection)


# One per process: runs of any dataflow in a benchmark worker share it.
shared_memory_sink = MemorySink(keep=False)


def memory_sink(connection: Connection) -> Sink:
    return shared_memory_sink


def sink_for(dataflow: Dataflow) -> Sink:
    """The configured sink for a dataflow's connection."""
    if dataflow.connection is None:
        raise ValueError(f"dataflow {dataflow.pk} has no connection to export to")
    factory = import_string(getattr(settings, "EXPORT_SINK", "") or f"{__name__}.kinesis_sink")
    return factory(dataflow.connection)
