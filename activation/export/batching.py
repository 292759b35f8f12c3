"""PutRecords limits (SPEC §4): what fits in one call, and what can never be sent.

AWS rejects a whole PutRecords call when one record is too large, so sizes
are checked here before anything is sent. Sizes are UTF-8 bytes of the data
plus the partition key, as Kinesis counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from activation.export.records import MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, BuiltRecord
from core.stored_text import StoredText

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024

T = TypeVar("T")


def record_limit(stream_max_bytes: int | None) -> int:
    """The largest record a stream takes (its MaxRecordSizeInKiB, 1 MiB when unknown),
    never more than one PutRecords call carries."""
    return min(stream_max_bytes or MAX_RECORD_BYTES, MAX_BATCH_BYTES)


# Why Kinesis would refuse a record (RunIssue.reason): stored in English, shown translated.
TOO_LARGE = StoredText(
    "The record is %(size)s bytes (data plus partition key); the stream accepts at most "
    "%(max)s bytes. Map fewer or smaller attributes."
)
BAD_KEY = StoredText("The partition key has %(length)s characters; Kinesis accepts 1 to %(max)s.")


def record_problem(
    record: BuiltRecord, max_bytes: int = MAX_RECORD_BYTES
) -> tuple[str, str] | None:
    """(error code, reason) when Kinesis would refuse this record, else None
    (`max_bytes`: the stream's record limit; 0 skips the size check)."""
    if max_bytes and record.size_bytes > max_bytes:
        return (
            "RecordTooLarge",
            TOO_LARGE(size=record.size_bytes, max=max_bytes),
        )
    if not 1 <= len(record.partition_key) <= MAX_PARTITION_KEY_CHARS:
        return (
            "InvalidPartitionKey",
            BAD_KEY(length=len(record.partition_key), max=MAX_PARTITION_KEY_CHARS),
        )
    return None


def batches(items: Iterable[T], size_of: Callable[[T], int]) -> Iterator[list[T]]:
    """Consecutive groups of at most 500 items and 5 MiB, in order (lazily)."""
    batch: list[T] = []
    batch_bytes = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) == MAX_BATCH_RECORDS or batch_bytes + size > MAX_BATCH_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(item)
        batch_bytes += size
    if batch:
        yield batch
