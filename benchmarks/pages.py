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
* poll_unchanged_p95_ms: an open page's live poll when nothing changed (core/live.py:
  the version check answering 204, no render), the slowest of the dataflow page's,
  the dataflows page's, the destination page's and the alerts menu's — target <= 10;
  each one's p95 as `poll_<page>_p95_ms`; `poll_unchanged_cpu_p50_ms` is this
  process's CPU time per poll (the part the machine's load does not inflate;
  the database's share is not in it).

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
from collections.abc import Callable, Iterator
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

    from tests.activation.monitoring.history import history_create
    from tests.factories import (
        BackfillFactory,
        DataflowFactory,
        DataflowSegmentFactory,
        IdentityFactory,
        UserFactory,
    )

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
        yield f"{name}_p95_ms", f"{_p95(timings):.1f}"
        yield f"{name}_p50_ms", f"{statistics.median(timings):.1f}"
    polls = {
        name: _poll_timings_ms(client, poll, requests) for name, poll in _polls(user, dataflow)
    }
    walls = [timings["wall"] for timings in polls.values()]
    yield "poll_unchanged_p95_ms", f"{max(_p95(wall) for wall in walls):.1f}"
    yield "poll_unchanged_p50_ms", f"{max(statistics.median(wall) for wall in walls):.1f}"
    cpus = [timings["cpu"] for timings in polls.values()]
    yield "poll_unchanged_cpu_p50_ms", f"{max(statistics.median(cpu) for cpu in cpus):.1f}"
    for name, timings in polls.items():
        yield f"poll_{name}_p95_ms", f"{_p95(timings['wall']):.1f}"
    _note(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[18]


def _polls(user: Any, dataflow: Any) -> Iterator[tuple[str, Callable[[], str]]]:
    """Each live page's poll URL, carrying the version the page shows now."""
    from django.urls import reverse

    from activation.monitoring import selectors as sel
    from alerts.selectors import alerts_menu_version

    detail = reverse("activation:dataflow_live", args=[dataflow.pk])
    connection = reverse("activation:connection_live", args=[dataflow.connection_id])
    yield (
        "dataflow_detail",
        lambda: f"{detail}?v={sel.dataflow_page_version(dataflow_id=dataflow.pk)}",
    )
    yield (
        "dataflow_list",
        lambda: f"{reverse('activation:dataflow_list')}?v={sel.dataflow_list_version(user=user)}",
    )
    yield (
        "connection",
        lambda: (
            f"{connection}?v={sel.connection_page_version(connection_id=dataflow.connection_id)}"
        ),
    )
    yield "alerts_menu", lambda: f"{reverse('alerts:menu')}?v={alerts_menu_version(user=user)}"


def _poll_timings_ms(client: Any, poll: Callable[[], str], requests: int) -> dict[str, list]:
    """Wall and CPU (this process) times of unchanged polls only: one that met a new
    minute (its version moved) is asked again, as an open page renders then, by design."""
    wall: list[float] = []
    cpu: list[float] = []
    while len(wall) < requests + 5:
        url = poll()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, HTTP_HX_REQUEST="true")
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if response.status_code == 204:
            wall.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
        elif response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return {"wall": wall[5:], "cpu": cpu[5:]}


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
