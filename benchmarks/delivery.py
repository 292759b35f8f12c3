"""Delivery benchmarks (issue 7): speed of the export engine against its limits.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamline python -m benchmarks.delivery

Runs against a fresh database `<name>_bench` on the DATABASE_URL server
(created, migrated and dropped here; PostgreSQL only: the large stores are
generated with bulk SQL), a local Kinesis endpoint (a moto server process on
a free port) and an in-process sink, and prints one `name: value` line per
figure, each measured within this run:

* export_vs_naive_speedup: wall time of a naive loop (per profile: read it,
  build its record, PutRecord) over the pipeline's run exporting the same
  changed profiles to the same endpoint (target >= 20).
* cost_vs_serialize_floor: the run's CPU time in this process per exported
  profile (change read, decision, build, batching, bookkeeping) with a sink
  that accepts everything, over the CPU time of only serializing the same
  records to JSON (target <= 5).
* incremental_scaling_ratio: a run's time for 1,000 changed profiles with
  1,000,000 profiles in the store over the same with 10,000 (target <= 1.5).
* backfill_profiles_per_s, backfill_peak_rss_mb: a 1,000,000-member
  segment's backfill to the sink, in a fresh process (RSS target <= 500 MB).

`--quick` shrinks every size (a smoke test of the benchmark itself).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.common import bench_database, django_setup, peak_rss_mb, run_child


@dataclass(frozen=True)
class Sizes:
    speedup_profiles: int = 2_000
    floor_profiles: int = 5_000
    small_store: int = 10_000
    big_store: int = 1_000_000
    changed: int = 1_000
    # Runs measured per figure (the median is reported), after one warm-up run.
    rounds: int = 5


QUICK = Sizes(
    speedup_profiles=300, floor_profiles=500, small_store=2_000, big_store=20_000, changed=200
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--backfill-child", type=int, metavar="DATAFLOW_ID", help=argparse.SUPPRESS)
    args = parser.parse_args()
    django_setup()
    if args.backfill_child:
        print(json.dumps(_backfill_child(args.backfill_child)))
        return
    sizes = QUICK if args.quick else Sizes()
    with bench_database("delivery_bench"):
        for name, value in _measure_all(sizes):
            print(f"{name}: {value}", flush=True)


def _measure_all(sizes: Sizes) -> Iterator[tuple[str, str]]:
    # The store sizes first, while the store holds only the generated profiles.
    world = _World()
    yield "incremental_scaling_ratio", f"{_scaling(world, sizes):.2f}"
    rate, rss = _backfill(world, sizes)
    yield "backfill_profiles_per_s", f"{rate:.0f}"
    yield "backfill_peak_rss_mb", f"{rss:.0f}"
    with _local_endpoint() as endpoint:
        yield "export_vs_naive_speedup", f"{_speedup(world, endpoint, sizes):.1f}"
    yield "cost_vs_serialize_floor", f"{_cost_vs_floor(world, sizes):.2f}"


# --------------------------------------------------------------------------
# The world: a marketer, a segment, dataflows (tests/support/world.py)
# --------------------------------------------------------------------------


class _World:
    """The shared export world, plus a counter of persons ingested so far."""

    def __init__(self) -> None:
        from tests.support.world import ExportWorld

        self.world = ExportWorld.create(username="bench")
        self.segment = self.world.segment
        self.next_person = 1

    def dataflow(self, *, stream: str = "bench-stream", backfill: bool = False) -> Any:
        return self.world.dataflow(stream=stream, backfill=backfill)

    def new_profiles(self, count: int) -> list[int]:
        """Ingest `count` new persons through the write service."""
        first, self.next_person = self.next_person, self.next_person + count
        return self.world.ingest(range(first, first + count))

    def write_again(self, numbers: list[int], *, version: str) -> None:
        """Write a mapped attribute of these persons (bulk ones included)."""
        self.world.ingest(numbers, version=version)


def _run_until_caught_up(dataflow_id: int, *, expect: int | None = None, **options: Any) -> Any:
    """Runs until caught up; returns the last report, with `delivered` summed over the runs.

    With `expect`, runs again (a few times at most) while fewer records were
    delivered: on a server shared with other databases, a transaction there
    that ends just as a run reads can hold the change horizon back for that
    read (a delay, never a loss; see profiles/changes.py), so a run may catch
    up before the last writes are settled for it.
    """
    from activation.export.services import dataflow_run

    delivered = 0
    for _ in range(1 if expect is None else 10):
        while True:
            report = dataflow_run(dataflow_id=dataflow_id, budget_s=3600, **options)
            delivered += report.delivered
            if report.state != "more":
                break
        if report.state != "caught_up":
            raise RuntimeError(f"export run ended {report.state}: {report.error_message}")
        if expect is None or delivered >= expect:
            break
        _note(f"run caught up after {delivered} of {expect} records: running again")
    report.delivered = delivered
    return report


# --------------------------------------------------------------------------
# export_vs_naive_speedup
# --------------------------------------------------------------------------


@contextmanager
def _local_endpoint() -> Iterator[Any]:
    """A moto server in its own process (as a real endpoint is), with the app pointed at it."""
    from django.conf import settings

    from destinations.kinesis import aws
    from tests.support.local_kinesis import LocalKinesisProcess

    server = LocalKinesisProcess()
    server.start()
    names = ("KINESIS_ENDPOINT_URL", "STS_ENDPOINT_URL", "IAM_ENDPOINT_URL")
    previous = {name: getattr(settings, name) for name in names}
    for name in names:  # moto serves all three
        setattr(settings, name, server.url)
    aws.clear_client_cache()
    try:
        yield server
    finally:
        for name, value in previous.items():
            setattr(settings, name, value)
        aws.clear_client_cache()
        server.stop()


def _speedup(world: _World, endpoint: Any, sizes: Sizes) -> float:
    from activation.export.records import build_record
    from activation.export.selectors import export_context_for, snapshots_for
    from destinations.kinesis import aws

    endpoint.create_stream("bench-stream", shards=4)
    endpoint.create_stream("naive-stream", shards=4)
    dataflow = world.dataflow(stream="bench-stream")
    profile_ids = world.new_profiles(sizes.speedup_profiles)

    started = time.perf_counter()
    report = _run_until_caught_up(dataflow.pk, expect=len(profile_ids))
    pipeline_s = time.perf_counter() - started
    if report.delivered != len(profile_ids):
        raise RuntimeError(f"pipeline delivered {report.delivered} of {len(profile_ids)}")

    # What a user might hand-write: per profile, read it, build its record, PutRecord.
    creds = aws.credentials_for(dataflow.connection)
    started = time.perf_counter()
    context = export_context_for(dataflow)
    for profile_id in profile_ids:
        snapshot = snapshots_for(context, [profile_id])[profile_id]
        record = build_record(context, snapshot)
        aws.put_record(creds, "naive-stream", record.data, record.partition_key)
    naive_s = time.perf_counter() - started

    written = len(endpoint.read_stream("bench-stream")), len(endpoint.read_stream("naive-stream"))
    if written != (len(profile_ids), len(profile_ids)):
        raise RuntimeError(f"records in the streams: {written}, expected {len(profile_ids)}")
    _note(f"speedup: pipeline {pipeline_s:.2f} s, naive {naive_s:.2f} s, {len(profile_ids)} prof.")
    return naive_s / pipeline_s


# --------------------------------------------------------------------------
# cost_vs_serialize_floor
# --------------------------------------------------------------------------


def _cost_vs_floor(world: _World, sizes: Sizes) -> float:
    from activation.export.records import build_record
    from activation.export.selectors import export_context_for, snapshots_for
    from activation.export.sinks import MemorySink

    ratios = []
    for _ in range(sizes.rounds):
        dataflow = world.dataflow()
        profile_ids = world.new_profiles(sizes.floor_profiles)
        sink = MemorySink(keep=False)
        started = time.process_time()
        report = _run_until_caught_up(dataflow.pk, sink=sink, expect=len(profile_ids))
        run_cpu = time.process_time() - started
        if sink.accepted != len(profile_ids) or report.delivered != len(profile_ids):
            raise RuntimeError(f"sink accepted {sink.accepted} of {len(profile_ids)}")

        context = export_context_for(dataflow)
        snapshots = snapshots_for(context, profile_ids)
        documents = [json.loads(build_record(context, s).data) for s in snapshots.values()]
        floor_cpu = min(_serialize_cpu(documents) for _ in range(5))
        ratios.append(run_cpu / floor_cpu)
        _note(
            f"floor: run {run_cpu / len(profile_ids) * 1e6:.0f} us/profile, serialize "
            f"{floor_cpu / len(profile_ids) * 1e6:.1f} us/profile"
        )
    return statistics.median(ratios)


def _serialize_cpu(documents: list[dict]) -> float:
    started = time.process_time()
    for document in documents:
        json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return time.process_time() - started


# --------------------------------------------------------------------------
# incremental_scaling_ratio
# --------------------------------------------------------------------------


def _scaling(world: _World, sizes: Sizes) -> float:
    from benchmarks.store import store_grow

    base = 10_000_000  # bulk ids far above the ingested ones
    store_grow(segment_id=world.segment.pk, first=base + 1, last=base + sizes.small_store)
    small = _incremental_runs(world, base, sizes.small_store, sizes)
    _note(f"scaling: {sizes.small_store} profiles: runs {_fmt(small)} s")
    started = time.perf_counter()
    store_grow(
        segment_id=world.segment.pk,
        first=base + sizes.small_store + 1,
        last=base + sizes.big_store,
    )
    _note(f"scaling: grew the store to {sizes.big_store} in {time.perf_counter() - started:.0f} s")
    big = _incremental_runs(world, base, sizes.big_store, sizes)
    _note(f"scaling: {sizes.big_store} profiles: runs {_fmt(big)} s")
    return statistics.median(big) / statistics.median(small)


def _incremental_runs(world: _World, base: int, store: int, sizes: Sizes) -> list[float]:
    """Seconds of each run after `changed` random profiles had a mapped attribute written."""
    from activation.export.sinks import MemorySink

    dataflow = world.dataflow()
    rng = random.Random(store)
    times = []
    for round_ in range(sizes.rounds + 1):
        picked = rng.sample(range(base + 1, base + store + 1), sizes.changed)
        world.write_again(picked, version=f"round{round_}")
        sink = MemorySink(keep=False)
        started = time.perf_counter()
        _run_until_caught_up(dataflow.pk, sink=sink, expect=sizes.changed)
        times.append(time.perf_counter() - started)
        if sink.accepted != sizes.changed:
            raise RuntimeError(f"run exported {sink.accepted} of {sizes.changed} changed profiles")
    return times[1:]  # the first run warms the caches up


# --------------------------------------------------------------------------
# backfill
# --------------------------------------------------------------------------


def _backfill(world: _World, sizes: Sizes) -> tuple[float, float]:
    """A backfill of the whole (big) segment, run in a fresh process to measure its RSS."""
    dataflow = world.dataflow(backfill=True)
    members = dataflow.backfills.get().total
    result = run_child("benchmarks.delivery", "--backfill-child", str(dataflow.pk))
    if result["exported"] != members:
        raise RuntimeError(f"backfill exported {result['exported']} of {members} members")
    _note(f"backfill: {members} members in {result['seconds']:.1f} s")
    return members / result["seconds"], result["peak_rss_mb"]


def _backfill_child(dataflow_id: int) -> dict[str, float]:
    from activation.export.sinks import MemorySink

    sink = MemorySink(keep=False)
    started = time.perf_counter()
    _run_until_caught_up(dataflow_id, sink=sink)
    seconds = time.perf_counter() - started
    return {"exported": sink.accepted, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


# --------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _note(text: str) -> None:
    """Details on stderr, so stdout holds only the `name: value` lines."""
    print(f"  # {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
