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

Side by side in one run, median of `--rounds` (default 3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import bench_database, django_setup

STORE = 100_000
CHANGED = 10_000
DATAFLOWS = 100
IRRELEVANT_FIRST = 50_001  # profiles in no mapped segment

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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dataflows", type=int, default=DATAFLOWS)
    args = parser.parse_args()
    django_setup()
    with bench_database("fanout_bench"):
        for name, value in measure(rounds=args.rounds, dataflows=args.dataflows):
            print(f"{name}: {value}", flush=True)


def measure(*, rounds: int, dataflows: int) -> list[tuple[str, str]]:
    world = FanoutWorld.create(dataflows)
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
    return [
        ("fanout_cost_ratio", f"{cpu:.2f}"),
        ("fanout_wall_ratio", f"{wall:.2f}"),
        ("irrelevant_change_cost_us", f"{irrelevant / (CHANGED * dataflows) * 1e6:.3f}"),
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
        return cls(flows[0], flows[1:])

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


def drain() -> int:
    """Tick, run what it queued until caught up, until the tick queues nothing;
    the number of records exported."""
    from activation.export import services
    from activation.export.sinks import MemorySink

    queued: list[int] = []
    sink = MemorySink(keep=False)
    original = services._enqueue_run
    services._enqueue_run = lambda dataflow_id, countdown: queued.append(dataflow_id)
    try:
        for _ in range(100):
            services.dataflows_tick()
            if not queued:
                return sink.accepted
            while queued:
                report = services.dataflow_run(dataflow_id=queued.pop(0), sink=sink, budget_s=3600)
                if report.state not in ("caught_up", "more", "locked"):
                    raise RuntimeError(f"run ended {report.state}: {report.error_message}")
    finally:
        services._enqueue_run = original
    raise RuntimeError("the tick kept queueing runs")


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
