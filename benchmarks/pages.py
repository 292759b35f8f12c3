"""Monitoring page benchmarks (issue 8): response time with a long history.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamline python -m benchmarks.pages

Creates a database `<name>_pages_bench` on the DATABASE_URL server (migrated,
then dropped at the end), gives one dataflow 10,000 hourly runs, 10,000
excluded/failed profiles on its latest run and 100,000 delivery-log rows, and
requests each page through Django's full stack (middleware, session, login,
templates) in this process, printing one `name: value` line per figure:

* dataflow_detail_p95_ms: the dataflow page (runs tab, last 24 h, chart,
  backfill panel) — target < 150.
* run_detail_p95_ms: the latest run's page (10,000 issues, paginated) — target < 150.
* also the 30-day view, a run search, the run's records, the delivery lookup
  and the dataflows page, for reference; each page's median as `<page>_p50_ms`.

Timings are wall-clock in one process: on a shared, busy machine the p95
reflects the load (the load average is noted on stderr).

`--quick` uses a tenth of the data and fewer requests (a smoke test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

from benchmarks.common import bench_database, django_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args()
    django_setup()
    scale, requests = (10, 30) if args.quick else (1, 200)
    with bench_database("pages_bench"):
        for name, value in _measure(scale=scale, requests=requests):
            print(f"{name}: {value}", flush=True)


def _measure(*, scale: int, requests: int) -> Iterator[tuple[str, str]]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from tests.factories import (
        BackfillFactory,
        DataflowFactory,
        DataflowSegmentFactory,
        IdentityFactory,
        UserFactory,
    )
    from tests.monitoring.history import history_create

    user = UserFactory(username="bench")
    dataflow = DataflowFactory(connection__owner=user, name="Benchmark dataflow")
    for _ in range(3):
        DataflowSegmentFactory(dataflow=dataflow)
    for _ in range(19):
        DataflowFactory(connection=dataflow.connection)
    BackfillFactory(dataflow=dataflow, total=100_000, processed=40_000)
    busy = IdentityFactory(namespace="email", value="busy@example.com")
    started = time.perf_counter()
    history = history_create(
        dataflow=dataflow,
        runs=10_000 // scale,
        deliveries=100_000 // scale,
        issues=10_000 // scale,
        first_profile_id=busy.profile_id,
    )
    with connection.cursor() as cursor:
        for table in ("activation_exportrun", "activation_runissue", "activation_deliverylog"):
            cursor.execute(f"ANALYZE {table}")
    _note(f"history created in {time.perf_counter() - started:.1f} s")
    client = Client()
    client.force_login(user)
    detail = reverse("activation:dataflow_detail", args=[dataflow.pk])
    run = reverse("activation:run_detail", args=[dataflow.pk, history.latest_run.pk])
    lookup = reverse("activation:delivery_lookup")
    pages = {
        "dataflow_detail": detail,
        "run_detail": run,
        "dataflow_detail_30d": f"{detail}?period=30d&page=2",
        "run_search": f"{run}?q=person42",
        "run_records": f"{run}?view=deliveries&page=3",
        "delivery_lookup": f"{lookup}?identity=email:busy@example.com",
        "dataflow_list": reverse("activation:dataflow_list"),
    }
    for name, url in pages.items():
        timings = _timings_ms(client, url, requests)
        yield f"{name}_p95_ms", f"{statistics.quantiles(timings, n=20)[18]:.1f}"
        yield f"{name}_p50_ms", f"{statistics.median(timings):.1f}"
    _note(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _timings_ms(client: Any, url: str, requests: int) -> list[float]:
    for _ in range(5):
        _get(client, url)
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        _get(client, url)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _get(client: Any, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


def _note(text: str) -> None:
    print(f"  # {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
