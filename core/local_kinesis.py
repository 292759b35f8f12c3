"""The local Kinesis endpoint of `make run`, the tests and the benchmarks: moto's server,
with its shards' record lookups made independent of how many records a shard holds.

Development only (moto is a development requirement). moto finds a shard's newest
sequence number by copying every key of the shard (`list(records)[-1]`, at each
PutRecord) and serves GetRecords by walking the shard from its first record, so
a stream slows down with every record it holds: after an hour of a soak, the
endpoint, not the exporter, set the pace. Kinesis itself does neither. Sequence
numbers of a moto shard are consecutive integers, so both lookups go straight to
the key; where that does not hold (a gap), moto's own code answers.

    python -m core.local_kinesis -H 127.0.0.1 -p 5000   # arguments of `moto.server`
"""

from __future__ import annotations

import sys
from typing import Any

_PATCHED = False


def shards_indexed() -> None:
    """Make moto's shard lookups direct (idempotent; in this process)."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.kinesis.models import Shard

    walk_records = Shard.get_records

    def newest(shard: Any) -> int:
        return next(reversed(shard.records)) if shard.records else 0

    def oldest(shard: Any) -> int:
        return next(iter(shard.records)) if shard.records else 0

    def get_records(shard: Any, last_sequence_id: str, limit: int | None) -> Any:
        last = int(last_sequence_id)
        end = newest(shard)
        results = []
        for number in range(max(last, oldest(shard) - 1) + 1, end + 1):
            record = shard.records.get(number)
            if record is None:  # not consecutive: moto's walk knows the order
                return walk_records(shard, last_sequence_id, limit)
            results.append(record)
            if limit is not None and len(results) == limit:
                break
        if not results:
            return [], last, 0
        behind = shard.records[end].created_at - results[-1].created_at
        return results, results[-1].sequence_number, int(behind * 1000)

    # moto's methods replaced on its class, the point of this module.
    setattr(Shard, "get_max_sequence_number", newest)  # noqa: B010
    setattr(Shard, "get_min_sequence_number", oldest)  # noqa: B010
    setattr(Shard, "get_records", get_records)  # noqa: B010
    _PATCHED = True


def main(argv: list[str]) -> None:
    from moto.server import main as moto_server

    shards_indexed()
    moto_server(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
