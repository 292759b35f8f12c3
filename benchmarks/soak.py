"""Sustained load (issue 18): steady profile writes through the API into many dataflows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamline \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 python -m benchmarks.soak

The production path on one machine: a fresh database `<name>_soak` (PostgreSQL),
the Redis broker, two Celery worker processes and Celery beat (the safety
tick, the change-log prune every minute with a 30 s safety window), a local
Kinesis endpoint (a moto server process). 20 dataflows, one stream each, map
20 overlapping segments (`loyalty.points` windows of 30 over 0-130, so a
profile is in about 6). A pool of profiles is written at a steady `--rate`
per second through /api/v1/profiles for `--minutes`, each write moving the
profile's points (joins, leaves, mapped attribute written). Then, once the
dataflows are caught up, the consumer check over every stream
(tests/support/consumer.py). Prints:

* soak_ingest_to_stream_p95_s: write POSTed -> its record read back from the
  first dataflow's stream (a consumer polls it throughout); target <= 1.5
* soak_lost_records: profiles whose last record in a stream is missing or not
  their final state, over all dataflows; target 0
* soak_worker_rss_growth_mb: the larger worker's RSS growth from the end of
  the first minute to the end; target <= 20
* soak_change_log_rows_end: change rows left at the end (bounded by the safety
  window, not by the run's length)
* soak_db_growth_mb: database size growth during the load

`--rate 100 --minutes 1` is a shortened run (a loaded machine, a smoke test).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.common import ROOT, background_process, bench_database
from benchmarks.delivery import _local_endpoint
from benchmarks.export import _percentile, post_profiles

DATAFLOWS = 20
POOL = 20_000
BATCH = 50
SAFETY_WINDOW_S = 30
# The probe polls every 50 ms: a few polls after the dataflows caught up.
PROBE_GRACE_S = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=500, help="profile writes per second")
    parser.add_argument("--minutes", type=float, default=5.0, help="minutes of load")
    parser.add_argument("--dataflows", type=int, default=DATAFLOWS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    with bench_database("soak"), _local_endpoint() as endpoint:
        token, dataflows = _world(endpoint, args.dataflows)
        with _processes(endpoint.url) as workers:
            figures = _soak(endpoint, token, dataflows, workers, args.rate, args.minutes)
    for name, value in figures:
        print(f"{name}: {value}", flush=True)


def _world(endpoint: Any, count: int) -> tuple[str, list[Any]]:
    from activation.export.services import dataflow_activate
    from activation.models import AttributeMapping, DataflowSegment, IdentitySelection
    from core.models import ApiToken
    from profiles.models import IdentityNamespace
    from profiles.segments import segment_create
    from tests.factories import ConnectionFactory, DataflowFactory, UserFactory

    for code in ("crmid", "email"):
        IdentityNamespace.objects.get_or_create(code=code, defaults={"name": code, "builtin": True})
    user = UserFactory(username="soak")
    _, token = ApiToken.issue(user=user, name="soak")
    dataflows = []
    for n in range(count):
        low = n * 100 // count
        segment = segment_create(
            name=f"Points {low}-{low + 30}",
            rule={
                "and": [
                    {"path": "loyalty.points", "op": "gte", "value": low},
                    {"path": "loyalty.points", "op": "lt", "value": low + 30},
                ]
            },
            evaluate=False,
        )
        stream = f"soak-{n}"
        endpoint.create_stream(stream, shards=1)
        connection = ConnectionFactory(owner=user, stream_name=stream)
        dataflow = DataflowFactory(connection=connection, partition_key_source="crmid")
        DataflowSegment.objects.create(dataflow=dataflow, segment=segment)
        for position, path in enumerate(("person.name.firstName", "loyalty.points")):
            AttributeMapping.objects.create(dataflow=dataflow, source_path=path, position=position)
        IdentitySelection.objects.create(dataflow=dataflow, namespace="crmid")
        dataflow_activate(dataflow=dataflow)
        dataflows.append(dataflow)
    return token, dataflows


@contextmanager
def _processes(endpoint_url: str) -> Iterator[list[subprocess.Popen]]:
    """Two `celery worker --pool solo` processes and `celery beat`; the workers."""
    from tests.conftest import database_url_of_current_test_db

    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_current_test_db(),
        "KINESIS_ENDPOINT_URL": endpoint_url,
        "STS_ENDPOINT_URL": endpoint_url,
        "IAM_ENDPOINT_URL": endpoint_url,
        "CHANGE_LOG_SAFETY_WINDOW_S": str(SAFETY_WINDOW_S),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("EXPORT_SINK", None)
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    commands = [
        [*celery, "worker", "--pool", "solo", "-n", f"soak-{n}-{os.getpid()}@%h"] for n in (1, 2)
    ]
    schedule = Path(tempfile.mkdtemp()) / "beat-schedule"
    commands.append([*celery, "beat", "-s", str(schedule)])
    with ExitStack() as stack:
        started = [stack.enter_context(background_process(command, env)) for command in commands]
        time.sleep(5)  # workers connected, beat scheduled
        yield started[:2]


class _Probe(threading.Thread):
    """Polls the first dataflow's stream; when each (profile, version) is first seen."""

    def __init__(self, endpoint: Any, stream: str) -> None:
        super().__init__(daemon=True)
        self.kinesis = endpoint.boto("kinesis")
        self.stream = stream
        self.first_seen: dict[str, float] = {}
        self.stopping = threading.Event()
        self.errors = 0

    def run(self) -> None:
        [shard] = self.kinesis.list_shards(StreamName=self.stream)["Shards"]
        iterator = self.kinesis.get_shard_iterator(
            StreamName=self.stream, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        while not self.stopping.is_set():
            try:
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            except (BotoCoreError, ClientError) as exc:
                # The local endpoint answers 500 when it is overloaded: poll again
                # (with the same iterator: nothing was read), never end the probe.
                self.errors += 1
                _note(f"probe: GetRecords failed ({exc.__class__.__name__}); polling again")
                time.sleep(0.5)
                continue
            now = time.monotonic()
            for record in page["Records"]:
                version = json.loads(record["Data"])["person"]["name"]["firstName"]
                self.first_seen.setdefault(version, now)
            iterator = page["NextShardIterator"]
            time.sleep(0.05)


def _soak(
    endpoint: Any,
    token: str,
    dataflows: list[Any],
    workers: list[subprocess.Popen],
    rate: int,
    minutes: float,
) -> list[tuple[str, str]]:
    from django.db import connection
    from django.test import Client

    from profiles.models import ProfileChange

    client = Client()
    probe = _Probe(endpoint, dataflows[0].connection.stream_name)
    probe.start()
    first_window = (0, 30)  # the first dataflow's segment: points in [0, 30)
    rng = random.Random(18)
    posted: dict[str, float] = {}
    db_start = _db_size(connection)
    rss_start: list[float] = []
    started = time.monotonic()
    end = started + minutes * 60
    sequence = 0
    while (now := time.monotonic()) < end:
        if not rss_start and now - started >= min(60, minutes * 30):
            rss_start = [_rss_mb(w.pid) for w in workers]
        records = []
        # A batch is written in one transaction: of a profile written twice in it, only
        # the last write leaves a state a record can carry.
        last_write: dict[int, tuple[str, int]] = {}
        for _ in range(BATCH):
            sequence += 1
            n = rng.randrange(POOL)
            points = rng.randrange(130)
            version = f"P{n}-{sequence}"
            records.append(
                {
                    "identityMap": {"crmid": [{"id": f"c-{n}"}]},
                    "attributes": {
                        "person": {"name": {"firstName": version}},
                        "loyalty": {"points": points},
                    },
                }
            )
            last_write[n] = (version, points)
        sent_at = time.monotonic()
        for version, points in last_write.values():
            if first_window[0] <= points < first_window[1]:
                posted[version] = sent_at
        post_profiles(client, token, records)
        # A steady pace: the next batch when it is due, however long this one took.
        due = started + sequence / rate
        time.sleep(max(0.0, due - time.monotonic()))
    written_s = time.monotonic() - started
    _note(f"wrote {sequence} profiles in {written_s:.0f} s ({sequence / written_s:.0f}/s)")
    caught_up = _wait_caught_up(dataflows, timeout=300)
    _note(f"dataflows caught up {caught_up:.0f} s after the last write")
    # The last records reached the stream just before that: let the probe read them.
    time.sleep(PROBE_GRACE_S)
    probe.stopping.set()
    probe.join(timeout=10)
    rss_end = [_rss_mb(w.pid) for w in workers]
    db_growth = _db_size(connection) - db_start
    lost = _lost_records(endpoint, dataflows)
    time.sleep(SAFETY_WINDOW_S + 65)  # one more prune after the safety window
    latencies = _latencies(posted, probe.first_seen)
    missing = len(posted) - len(latencies)
    _note(f"latency samples {len(latencies)}, never seen {missing}")
    # A write never seen counts as infinitely late.
    p95 = _percentile(latencies + [math.inf] * missing, 95) if posted else math.inf
    return [
        ("soak_ingest_to_stream_p95_s", f"{p95:.2f}"),
        ("soak_lost_records", str(lost)),
        (
            "soak_worker_rss_growth_mb",
            f"{max(e - s for s, e in zip(rss_start or rss_end, rss_end, strict=True)):.1f}",
        ),
        ("soak_change_log_rows_end", str(ProfileChange.objects.count())),
        ("soak_db_growth_mb", f"{db_growth:.0f}"),
    ]


def _latencies(posted: dict[str, float], first_seen: dict[str, float]) -> list[float]:
    """Per write, until a record of that profile with this or a later version was read:
    a run sends a profile's latest state, so a write followed quickly by another one
    of the same profile arrives as the later one."""
    seen: dict[str, list[tuple[int, float]]] = {}
    for version, moment in first_seen.items():
        profile, sequence = version.rsplit("-", 1)
        seen.setdefault(profile, []).append((int(sequence), moment))
    latencies = []
    for version, posted_at in posted.items():
        profile, sequence = version.rsplit("-", 1)
        arrivals = [m for s, m in seen.get(profile, ()) if s >= int(sequence)]
        if arrivals:
            latencies.append(min(arrivals) - posted_at)
    return sorted(latencies)


def _wait_caught_up(dataflows: list[Any], *, timeout: float) -> float:
    """Seconds until no dataflow has work left: no change of its audience after its
    cursor, no open backfill, no run holding it."""
    from activation.export.services import OPEN_BACKFILL
    from activation.models import Backfill, Dataflow
    from profiles.changes import ChangeCursor, Consumer, consumers_pending

    ids = [d.pk for d in dataflows]
    segments = {d.pk: (str(d.mapped_segments.get().segment_id),) for d in dataflows}
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = Dataflow.objects.filter(pk__in=ids).values_list(
            "pk", "cursor_txid", "cursor_change_id", "locked_until"
        )
        scan = consumers_pending(
            [Consumer(pk, ChangeCursor(t, i), segments[pk]) for pk, t, i, _ in rows]
        )
        busy = (
            any(locked for *_, locked in rows)
            or Backfill.objects.filter(dataflow_id__in=ids, status__in=OPEN_BACKFILL).exists()
        )
        if not scan.pending and not busy:
            return time.monotonic() - started
        time.sleep(1)
    return time.monotonic() - started


def _lost_records(endpoint: Any, dataflows: list[Any]) -> int:
    """Consumer check per stream: a current member's last record is its final state; a
    profile that left has its "exited" record last (later writes do not export it)."""
    from profiles.models import MEMBER_STATUSES, SegmentMembership
    from tests.support.consumer import expected_documents, last_document_per_key, mismatches

    lost = 0
    for dataflow in dataflows:
        memberships = SegmentMembership.objects.filter(
            segment_id=dataflow.mapped_segments.get().segment_id
        )
        current = memberships.filter(status__in=MEMBER_STATUSES).values_list(
            "profile_id", flat=True
        )
        left = memberships.exclude(status__in=MEMBER_STATUSES).values_list("profile_id", flat=True)
        entries = endpoint.read_stream(dataflow.connection.stream_name)
        problems = mismatches(dataflow=dataflow, profile_ids=list(current), entries=entries)
        last = last_document_per_key(entries)
        for key, document in expected_documents(dataflow=dataflow, profile_ids=list(left)).items():
            seen = last.get(key, {}).get("segmentMembership")
            if seen != document["segmentMembership"]:
                problems.append(f"{key}: last membership {seen} != {document['segmentMembership']}")
        lost += len(problems)
        for problem in problems[:3]:
            _note(f"dataflow {dataflow.pk}: {problem}")
    return lost


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _db_size(connection: Any) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0] / 1024 / 1024


def _note(text: str) -> None:
    print(f"  # {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
