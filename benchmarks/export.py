"""Export latency benchmark (issue 6): profile POSTed to the API -> record readable in the stream.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamline \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 python -m benchmarks.export

The production path on one machine: a fresh database `<name>_export_bench`
(created, migrated and dropped here; SQLite works too), the Redis broker, ONE
Celery worker process (`-c 1`) and a local Kinesis endpoint (a moto server
process). An enabled dataflow maps a segment; the benchmark POSTs profiles
that qualify for it to /api/v1/profiles one at a time, at a steady pace, while
a consumer thread polls GetRecords on every shard. Each profile's latency is
from just before its POST until its record is first read back. Prints:

* ingest_to_stream_p95_s (target <= 5; the reference promises 10 minutes)
* ingest_to_stream_p50_s, ingest_to_stream_max_s, ingest_to_stream_samples

The worker and the endpoint are stopped and the database dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import background_process

ROOT = Path(__file__).resolve().parent.parent
STREAM = "latency-stream"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=120, help="profiles to ingest")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between POSTs")
    args = parser.parse_args()
    _django_setup()
    with _bench_database(), _local_endpoint() as endpoint:
        token = _world(endpoint)
        with _worker(endpoint.url):
            latencies, missing = _measure(endpoint, token, args.profiles, args.interval)
    for name, value in _figures(latencies, missing):
        print(f"{name}: {value}", flush=True)


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def _bench_database() -> Iterator[None]:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    database = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        database["TEST"]["NAME"] = f"{database['NAME']}_export_bench"
    else:
        database["TEST"]["NAME"] = str(settings.VAR_DIR / "export-bench.sqlite3")
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        yield
    finally:
        connection.close()
        teardown_databases(old, verbosity=0)


@contextmanager
def _local_endpoint() -> Iterator[Any]:
    from django.conf import settings

    from destinations.kinesis import aws
    from tests.support.local_kinesis import LocalKinesisProcess

    server = LocalKinesisProcess()
    server.start()
    server.create_stream(STREAM, shards=2)
    for name in ("KINESIS_ENDPOINT_URL", "STS_ENDPOINT_URL", "IAM_ENDPOINT_URL"):
        setattr(settings, name, server.url)  # moto serves all three
    aws.clear_client_cache()
    try:
        yield server
    finally:
        server.stop()


def _world(endpoint: Any) -> str:
    """A marketer with an API token, a segment, and a dataflow exporting it; the token."""
    from activation.export.services import dataflow_activate
    from activation.models import AttributeMapping, DataflowSegment, IdentitySelection
    from core.models import ApiToken
    from profiles.segments import segment_create
    from tests.factories import ConnectionFactory, DataflowFactory, UserFactory

    user = UserFactory(username="latency-bench")
    _, token = ApiToken.issue(user=user, name="benchmark")
    segment = segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    connection = ConnectionFactory(owner=user, stream_name=STREAM, include_segment_names=True)
    dataflow = DataflowFactory(connection=connection, partition_key_source="crmid")
    DataflowSegment.objects.create(dataflow=dataflow, segment=segment)
    for position, path in enumerate(("person.name.firstName", "personalEmail.address")):
        AttributeMapping.objects.create(dataflow=dataflow, source_path=path, position=position)
    IdentitySelection.objects.create(dataflow=dataflow, namespace="email", hashed=True)
    IdentitySelection.objects.create(dataflow=dataflow, namespace="crmid")
    dataflow_activate(dataflow=dataflow)
    return token


@contextmanager
def _worker(endpoint_url: str) -> Iterator[None]:
    """One `celery worker -c 1` on the bench database, the broker and the endpoint."""
    from django.conf import settings

    from tests.conftest import database_url_of_current_test_db

    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_current_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "KINESIS_ENDPOINT_URL": endpoint_url,
        "STS_ENDPOINT_URL": endpoint_url,
        "IAM_ENDPOINT_URL": endpoint_url,
        "VAR_DIR": str(settings.VAR_DIR),
    }
    env.pop("EXPORT_SINK", None)
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "-l", "INFO"]
    with background_process([*argv, "-n", f"export-bench-{os.getpid()}@%h"], env, ready="ready"):
        yield


class _Consumer(threading.Thread):
    """Polls every shard from LATEST and notes when each partition key is first seen."""

    def __init__(self, endpoint: Any) -> None:
        super().__init__(daemon=True)
        self.kinesis = endpoint.boto("kinesis")
        self.first_seen: dict[str, float] = {}
        self.stopping = threading.Event()
        self.iterators = {
            shard["ShardId"]: self.kinesis.get_shard_iterator(
                StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in self.kinesis.list_shards(StreamName=STREAM)["Shards"]
        }

    def run(self) -> None:
        while not self.stopping.is_set():
            for shard_id, iterator in list(self.iterators.items()):
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                now = time.monotonic()
                for record in page["Records"]:
                    self.first_seen.setdefault(record["PartitionKey"], now)
                self.iterators[shard_id] = page["NextShardIterator"]
            time.sleep(0.02)


def _measure(endpoint: Any, token: str, profiles: int, interval: float) -> tuple[list[float], int]:
    from django.test import Client

    client = Client()
    consumer = _Consumer(endpoint)
    consumer.start()
    posted: dict[str, float] = {}
    time.sleep(2)  # the activation's (empty) backfill run, and a warm worker
    for n in range(profiles):
        key = f"crm-{n}"
        body = {
            "identityMap": {"email": [{"id": f"p{n}@example.com"}], "crmid": [{"id": key}]},
            "attributes": {
                "loyalty": {"tier": "gold"},
                "person": {"name": {"firstName": f"Person {n}"}},
                "personalEmail": {"address": f"p{n}@example.com"},
            },
        }
        posted[key] = time.monotonic()
        post_profiles(client, token, body)
        time.sleep(interval)
    deadline = time.monotonic() + 60
    while len(consumer.first_seen.keys() & posted.keys()) < len(posted):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    consumer.stopping.set()
    consumer.join(timeout=5)
    latencies = [consumer.first_seen[k] - t for k, t in posted.items() if k in consumer.first_seen]
    return latencies, len(posted) - len(latencies)


def post_profiles(client: Any, token: str, body: Any) -> None:
    """POST one record or a list of them to the ingestion API; all must be written."""
    response = client.post(
        "/api/v1/profiles",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    if response.status_code != 200:
        raise RuntimeError(f"ingest failed: {response.status_code} {response.content[:300]!r}")


def _figures(latencies: list[float], missing: int) -> Iterator[tuple[str, str]]:
    ordered = sorted(latencies)
    if missing or not ordered:
        # A record that never arrived counts as infinitely late.
        yield "ingest_to_stream_p95_s", "inf"
    else:
        yield "ingest_to_stream_p95_s", f"{_percentile(ordered, 95):.2f}"
    if ordered:
        yield "ingest_to_stream_p50_s", f"{_percentile(ordered, 50):.2f}"
        yield "ingest_to_stream_max_s", f"{ordered[-1]:.2f}"
    yield "ingest_to_stream_samples", str(len(ordered))
    yield "ingest_to_stream_missing", str(missing)


def _percentile(ordered: list[float], percent: float) -> float:
    rank = max(0, math.ceil(percent / 100 * len(ordered)) - 1)
    return ordered[rank]


if __name__ == "__main__":
    main()
