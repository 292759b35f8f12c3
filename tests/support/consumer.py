"""The consumer check: read a stream back and compare it with the profile store.

A consumer deduplicates on each record's `_id` and keeps, per profile, the
last record of its partition key in shard order. Delivery is right when that
record equals what the exporter would build from the profile's final state,
for every profile that should be there.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.support.local_kinesis import StreamEntry


def without_id(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "_id"}


@dataclass(frozen=True)
class Tally:
    """What a consumer sees in the stream."""

    entries: int
    unique_records: int
    # Copies of a record beyond the first (same `_id`): resends.
    duplicate_copies: int
    # Records per partition key, after deduplication on `_id`.
    records_per_key: Counter

    @property
    def keys(self) -> set[str]:
        return set(self.records_per_key)


def tally(entries: Iterable[StreamEntry]) -> Tally:
    seen: Counter = Counter()
    per_key: Counter = Counter()
    count = 0
    for entry in entries:
        count += 1
        record_id = entry.record_id
        seen[record_id] += 1
        if seen[record_id] == 1:
            per_key[entry.partition_key] += 1
    return Tally(
        entries=count,
        unique_records=len(seen),
        duplicate_copies=sum(n - 1 for n in seen.values()),
        records_per_key=per_key,
    )


def last_document_per_key(entries: Iterable[StreamEntry]) -> dict[str, dict[str, Any]]:
    """Per partition key, the document of its last record in shard order.

    Raises AssertionError when one key's records are spread over several
    shards (their order would then be undefined).
    """
    by_key: dict[str, list[StreamEntry]] = defaultdict(list)
    for entry in entries:
        by_key[entry.partition_key].append(entry)
    last: dict[str, dict[str, Any]] = {}
    for key, records in by_key.items():
        shards = {record.shard_id for record in records}
        assert len(shards) == 1, f"partition key {key} landed on shards {sorted(shards)}"
        last[key] = max(records, key=lambda r: r.sequence_number).document
    return last


def expected_documents(*, dataflow: Any, profile_ids: Iterable[int]) -> dict[str, dict[str, Any]]:
    """What the exporter builds now for each profile, keyed by partition key."""
    from activation.export.records import build_record
    from activation.export.selectors import export_context_for, snapshots_for

    context = export_context_for(dataflow)
    ids = list(profile_ids)
    expected: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 2000):
        for snapshot in snapshots_for(context, ids[start : start + 2000]).values():
            record = build_record(context, snapshot, record_id="-")
            expected[record.partition_key] = without_id(json.loads(record.data))
    return expected


def mismatches(
    *, dataflow: Any, profile_ids: Iterable[int], entries: list[StreamEntry]
) -> list[str]:
    """Profiles whose last record in the stream is missing or differs from their state."""
    expected = expected_documents(dataflow=dataflow, profile_ids=profile_ids)
    last = last_document_per_key(entries)
    problems: list[str] = []
    for key, document in expected.items():
        if key not in last:
            problems.append(f"{key}: missing from the stream")
        elif without_id(last[key]) != document:
            problems.append(f"{key}: last record {without_id(last[key])} != state {document}")
    return problems
