"""Fan-out benchmarks (issue 18): many dataflows over one change log.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamline python -m benchmarks.fanout

In a fresh database `<name>_fanout_bench`: a store of 100,000 profiles
(bulk SQL, benchmarks/store.py), 10,000 of them "changed", one segment
holding all 10,000 and 100 segments of 100 each (1 %). Each figure drains
the same kind of backlog (10,000 change rows writing a mapped attribute,
inserted in one transaction) in this one process, to an in-process sink, the
way a worker does: the safety tick queues runs, the queued runs run until
caught up, again until the tick queues nothing.

* fanout_cost_ratio: 100 enabled dataflows, each mapping its own 1 % segment,
  over 1 dataflow mapping the segment of all 10,000 (the same 10,000 records
  exported either way): CPU seconds of this process and its PostgreSQL
  backend; target <= 2. `fanout_wall_ratio` is the same in wall time (on a
  loaded machine mostly the wait for a core at each of a run's ~17 queries).
* irrelevant_change_cost_us: 10,000 changes of profiles in no mapped segment
  with the 100 dataflows enabled: microseconds per change per enabled dataflow
  until every dataflow has passed them; target < 1.

* workers_scaling: 10 dataflows, each with a backlog of 5,000 changes of its
  members, drained by 2 worker processes over the same drained by 1 (each
  process runs the dataflows' runs; the run lock keeps them apart); target >= 1.6.
* pipeline_vs_bare_putrecords: records/s of one dataflow exporting 10,000
  changed profiles into a local Kinesis endpoint (a moto server process) over
  records/s of a loop that only sends the same records, pre-built, with
  PutRecords of 500 to the same endpoint; target >= 0.8.

Side by side in one run, median of `--rounds` (default 2).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import bench_database, django_setup

STORE = 100_000
CHANGED = 10_000
DATAFLOWS = 100
IRRELEVANT_FIRST = 50_001  # profiles in no mapped segment
SCALING_DATAFLOWS = 10
SCALING_CHANGES = 5_000

_CHANGES = """
INSERT INTO profiles_profilechange
    (profile_id, written_paths, changed_paths, identities_added, identities_removed,
     membership_changes, source, created_at)
SELECT i, '["person.name.firstName"]', '["person.name.firstName"]', '[]', '[]', '{}',
       'api', now()
FROM generate_series(%(first)s, %(last)s) AS i
"""
_MEMBERS = """
INSERT INTO profiles_segmentmembership
    (profile_id, segment_id, status, last_qualification_time, updated_at)
SELECT i, %(segment)s, 'existing', now(), now()
FROM generate_series(1, %(changed)s) AS i WHERE i %% %(every)s = %(rest)s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dataflows", type=int, default=DATAFLOWS)
    parser.add_argument(
        "--only",
        choices=["pipeline", "scaling"],
        help="measure only this figure (with small --dataflows, for iterating on it)",
    )
    parser.add_argument("--drain-child", metavar="IDS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    django_setup()
    if args.drain_child:
        print(json.dumps(_drain_child([int(i) for i in args.drain_child.split(",")])))
        return
    with bench_database("fanout_bench"):
        for name, value in measure(rounds=args.rounds, dataflows=args.dataflows, only=args.only):
            print(f"{name}: {value}", flush=True)


def measure(*, rounds: int, dataflows: int, only: str | None = None) -> list[tuple[str, str]]:
    world = FanoutWorld.create(dataflows)
    if only == "pipeline":
        return [("pipeline_vs_bare_putrecords", f"{world.pipeline_vs_bare():.2f}")]
    if only == "scaling":
        return [("workers_scaling", f"{world.workers_scaling(rounds):.2f}")]
    singles, fanouts, irrelevants = [], [], []
    for _ in range(rounds):
        singles.append(world.drain_single())
        fanouts.append(world.drain_fanout())
        irrelevants.append(world.drain_irrelevant())
    note(f"1 dataflow: {_fmt(singles)}; {dataflows} dataflows: {_fmt(fanouts)} (wall, cpu s)")
    note(f"irrelevant changes, {dataflows} dataflows: {_fmt(irrelevants)}")
    wall, cpu = (
        statistics.median(f[i] for f in fanouts) / statistics.median(s[i] for s in singles)
        for i in (0, 1)
    )
    irrelevant = statistics.median(wall for wall, _ in irrelevants)
    # One round: each drains 50,000 records per worker count (keeps make bench < 10 min).
    scaling = world.workers_scaling(1)
    pipeline = world.pipeline_vs_bare()
    return [
        ("fanout_cost_ratio", f"{cpu:.2f}"),
        ("fanout_wall_ratio", f"{wall:.2f}"),
        ("irrelevant_change_cost_us", f"{irrelevant / (CHANGED * dataflows) * 1e6:.3f}"),
        ("workers_scaling", f"{scaling:.2f}"),
        ("pipeline_vs_bare_putrecords", f"{pipeline:.2f}"),
    ]


class FanoutWorld:
    def __init__(self, single: Any, fanout: list[Any]) -> None:
        self.single = single
        self.fanout = fanout

    @classmethod
    def create(cls, dataflows: int) -> FanoutWorld:
        from django.db import connection

        from activation.models import DataflowSegment
        from benchmarks.store import store_grow
        from profiles.models import Segment
        from tests.support.world import ExportWorld

        world = ExportWorld.create(username="fanout")
        started = time.perf_counter()
        # The whole store is a member of an unmapped segment (as stores are).
        store_grow(segment_id=world.segment.pk, first=1, last=STORE)
        everyone = Segment.objects.create(name="All changed", rule={}, active=False)
        small = [
            Segment.objects.create(name=f"Small {n}", rule={}, active=False)
            for n in range(dataflows)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                _MEMBERS, {"segment": str(everyone.pk), "changed": CHANGED, "every": 1, "rest": 0}
            )
            for rest, segment in enumerate(small):
                cursor.execute(
                    _MEMBERS,
                    {
                        "segment": str(segment.pk),
                        "changed": CHANGED,
                        "every": dataflows,
                        "rest": rest,
                    },
                )
            cursor.execute("VACUUM (ANALYZE) profiles_segmentmembership")
        connection_ = world.connection(stream="fanout-stream")
        flows = []
        for segment in [everyone, *small]:
            flow = world.dataflow(connection=connection_, backfill=False)
            DataflowSegment.objects.filter(dataflow=flow).update(segment=segment)
            flows.append(flow)
        note(
            f"store of {STORE} profiles and {dataflows + 1} dataflows in "
            f"{time.perf_counter() - started:.0f} s"
        )
        world_ = cls(flows[0], flows[1:])
        world_.small_segments = small
        return world_

    # -- workers_scaling ----------------------------------------------------------

    def workers_scaling(self, rounds: int) -> float:
        from django.db import connection

        from activation.models import Dataflow, DataflowSegment

        flows = [self.single, *self.fanout[: SCALING_DATAFLOWS - 1]]
        ids = [f.pk for f in flows]
        # All ten map the segment of all changed profiles: each exports the backlog.
        segment_id = DataflowSegment.objects.get(dataflow=self.single).segment_id
        DataflowSegment.objects.filter(dataflow_id__in=ids).update(segment_id=segment_id)
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(rounds):
            for processes in (1, 2):
                self._enable(flows)
                with connection.cursor() as cursor:
                    cursor.execute(_CHANGES, {"first": 1, "last": SCALING_CHANGES})
                started = time.perf_counter()
                exported = _drain_in_processes(ids, processes)
                times[processes].append(time.perf_counter() - started)
                if exported != SCALING_CHANGES * len(ids):
                    raise RuntimeError(f"{processes} workers exported {exported}")
        note(f"workers: 1 process {times[1]} s, 2 processes {times[2]} s")
        Dataflow.objects.filter(pk__in=ids[1:]).update(status="disabled")
        for flow, segment in zip(flows[1:], self.small_segments, strict=False):
            DataflowSegment.objects.filter(dataflow=flow).update(segment=segment)
        return statistics.median(times[1]) / statistics.median(times[2])

    # -- pipeline_vs_bare_putrecords ------------------------------------------------

    def pipeline_vs_bare(self) -> float:
        from benchmarks.delivery import _local_endpoint
        from destinations.kinesis import aws

        with _local_endpoint() as endpoint:
            endpoint.create_stream("fanout-stream", shards=4)
            endpoint.create_stream("bare-stream", shards=4)
            self._enable([self.single])
            with connection_cursor() as cursor:
                cursor.execute(_CHANGES, {"first": 1, "last": CHANGED})
            started = time.perf_counter()
            exported = drain(sink=None)
            pipeline_s = time.perf_counter() - started
            entries = [(e.data, e.partition_key) for e in endpoint.read_stream("fanout-stream")]
            if exported != CHANGED or len(entries) != CHANGED:
                raise RuntimeError(f"pipeline exported {exported}, stream has {len(entries)}")
            creds = aws.credentials_for(self.single.connection)
            started = time.perf_counter()
            for start in range(0, len(entries), 500):
                results = aws.put_records(creds, "bare-stream", entries[start : start + 500])
                if any(r.error_code for r in results):
                    raise RuntimeError("the endpoint refused a record")
            bare_s = time.perf_counter() - started
        note(
            f"pipeline {CHANGED / pipeline_s:.0f} records/s, bare PutRecords "
            f"{CHANGED / bare_s:.0f} records/s"
        )
        return bare_s / pipeline_s

    def drain_single(self) -> tuple[float, float]:
        self._enable([self.single])
        return self._timed_drain(first=1, expected=CHANGED)

    def drain_fanout(self) -> tuple[float, float]:
        self._enable(self.fanout)
        return self._timed_drain(first=1, expected=CHANGED)

    def drain_irrelevant(self) -> tuple[float, float]:
        self._enable(self.fanout)
        return self._timed_drain(first=IRRELEVANT_FIRST, expected=0)

    def _enable(self, flows: list[Any]) -> None:
        """Only these dataflows enabled, each caught up with the log."""
        from activation.models import Dataflow, DataflowStatus

        # Runs the activation queued went to the in-memory broker: forget them.
        Dataflow.objects.update(status=DataflowStatus.DISABLED, run_scheduled_for=None)
        Dataflow.objects.filter(pk__in=[f.pk for f in flows]).update(status=DataflowStatus.ENABLED)
        drain()

    def _timed_drain(self, *, first: int, expected: int) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process and its database backend)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(_CHANGES, {"first": first, "last": first + CHANGED - 1})
        started, cpu = time.perf_counter(), cpu_seconds()
        exported = drain()
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        if exported != expected:
            raise RuntimeError(f"drained {exported} records, expected {expected}")
        return seconds, cpu


def drain(sink: Any = "memory") -> int:
    """Tick, run what it queued until caught up, until the tick queues nothing;
    the number of records exported (to an in-process sink, or with `sink=None`
    to the dataflows' streams)."""
    from activation.export import services
    from activation.export.sinks import MemorySink

    queued: list[int] = []
    exported = 0
    if sink == "memory":
        sink = MemorySink(keep=False)
    original = services._enqueue_run
    services._enqueue_run = lambda dataflow_id, countdown: queued.append(dataflow_id)
    try:
        for _ in range(100):
            services.dataflows_tick()
            if not queued:
                return exported
            while queued:
                report = services.dataflow_run(dataflow_id=queued.pop(0), sink=sink, budget_s=3600)
                exported += report.delivered
                if report.state not in ("caught_up", "more", "locked"):
                    raise RuntimeError(f"run ended {report.state}: {report.error_message}")
    finally:
        services._enqueue_run = original
    raise RuntimeError("the tick kept queueing runs")


def _drain_in_processes(ids: list[int], processes: int) -> int:
    """Drain these dataflows with `processes` worker processes; records exported."""
    from benchmarks.common import ROOT
    from tests.conftest import database_url_of_current_test_db

    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_current_test_db(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    children = []
    for n in range(processes):
        order = ids[n::processes] + [i for i in ids if i not in ids[n::processes]]
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.fanout",
                    "--drain-child",
                    ",".join(map(str, order)),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
    exported = 0
    for child in children:
        out, _ = child.communicate(timeout=900)
        if child.returncode != 0:
            raise RuntimeError("a drain worker failed")
        exported += json.loads(out.strip().splitlines()[-1])["exported"]
    return exported


def _drain_child(ids: list[int]) -> dict[str, int]:
    """A worker process: run these dataflows (a run holds each one's lock) until a full
    pass finds nothing left to do."""
    from activation.export.services import dataflow_run
    from activation.export.sinks import MemorySink

    sink = MemorySink(keep=False)
    busy = True
    while busy:
        busy = False
        for dataflow_id in ids:
            report = dataflow_run(dataflow_id=dataflow_id, sink=sink, budget_s=2)
            busy |= report.delivered > 0 or report.state in ("more", "locked")
            if report.state == "locked":
                time.sleep(0.01)
    return {"exported": sink.accepted}


def connection_cursor() -> Any:
    from django.db import connection

    return connection.cursor()


def cpu_seconds() -> float:
    """CPU time of this process plus its PostgreSQL backend's (a local server: /proc).

    Wall time on a shared machine is mostly waiting for a core; the CPU both
    sides spend is the cost that grows with the work.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = 0.0  # a remote server: this process only
    return time.process_time() + backend


def _fmt(values: list[tuple[float, float]]) -> str:
    return ", ".join(f"({wall:.2f}, {cpu:.2f})" for wall, cpu in values)


def note(text: str) -> None:
    print(f"  # {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
