"""Figures read at scrape time: the same answer whichever process serves `/metrics`.

These are states, not events, so they come from where the state lives (the
database and the broker) rather than from counters in some process:

* `streamline_export_lag_seconds{dataflow}`: now minus the commit time of the
  oldest captured change the dataflow's cursor has not passed (0 when caught
  up). Enabled and errored dataflows only (a disabled one waits on purpose).
  The figure to alert on: it grows when exports stall, whatever the cause.
* `streamline_changelog_pending_rows{dataflow}`: change-log rows after the
  dataflow's cursor (counted up to PENDING_COUNT_CAP).
* `streamline_backfill_pending_profiles{dataflow}`: members open backfills have
  still to send.
* `streamline_dataflows{status}`: dataflows per status.
* `streamline_celery_queue_length{queue}`: messages waiting in each Celery
  queue (Redis list length; Redis broker only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.observability.metrics import PREFIX, dataflow_label

logger = logging.getLogger(__name__)

# Counting pending rows stops here: past it the lag says more than the count.
PENDING_COUNT_CAP = 1_000_000
# kombu's Redis transport keeps a queue's prioritised messages in sibling lists.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


class StateCollector(Collector):
    """The scrape-time figures; a source that fails is reported, never a failed scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            f"{PREFIX}_state_source_up",
            "Whether the scrape could read a source of the state figures (1) or not (0).",
            labels=["source"],
        )
        for source, read in (("database", export_state_metrics), ("broker", queue_length_metrics)):
            try:
                figures = list(read())
            except Exception:
                logger.exception("metrics: could not read the %s", source)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from figures
        yield up


def export_state_metrics() -> Iterator[GaugeMetricFamily]:
    from activation.export.services import OPEN_BACKFILL
    from activation.models import RUNNABLE_STATUSES, Backfill, Dataflow
    from profiles.changes import ChangeCursor, changes_after

    lag = GaugeMetricFamily(
        f"{PREFIX}_export_lag_seconds",
        "Seconds since the oldest captured change a dataflow has not exported yet (0: caught up).",
        labels=["dataflow"],
    )
    pending = GaugeMetricFamily(
        f"{PREFIX}_changelog_pending_rows",
        f"Change-log rows after a dataflow's cursor (counted up to {PENDING_COUNT_CAP}).",
        labels=["dataflow"],
    )
    backfill = GaugeMetricFamily(
        f"{PREFIX}_backfill_pending_profiles",
        "Segment members open backfills of a dataflow have still to send.",
        labels=["dataflow"],
    )
    by_status = GaugeMetricFamily(f"{PREFIX}_dataflows", "Dataflows per status.", labels=["status"])
    backfilling = set(
        Backfill.objects.filter(status__in=OPEN_BACKFILL).values_list("dataflow_id", flat=True)
    )
    now = timezone.now()
    statuses: dict[str, int] = {}
    # Per label: lag (the worst), pending rows and backfill members (summed), so
    # dataflows counted under "other" still give one sample each.
    figures: dict[str, list[float]] = {}
    live = Dataflow.objects.live()
    for dataflow_id, status, txid, change_id, total, done in live.values_list(
        "id", "status", "cursor_txid", "cursor_change_id", "backfill_total", "backfill_done"
    ):
        statuses[status] = statuses.get(status, 0) + 1
        if status not in RUNNABLE_STATUSES:
            continue
        oldest = changes_after(ChangeCursor(txid, change_id), limit=1)
        seconds = (now - oldest[0].created_at).total_seconds() if oldest else 0.0
        current = figures.setdefault(dataflow_label(dataflow_id), [0.0, 0, 0])
        current[0] = max(current[0], seconds)
        current[1] += _rows_after(txid, change_id)
        # The progress the dataflow page shows (distinct profiles), while a backfill is open.
        current[2] += max(total - done, 0) if dataflow_id in backfilling else 0
    for label, (seconds, rows, members) in figures.items():
        lag.add_metric([label], seconds)
        pending.add_metric([label], rows)
        backfill.add_metric([label], members)
    for status, count in sorted(statuses.items()):
        by_status.add_metric([status], count)
    yield from (lag, pending, backfill, by_status)


def _rows_after(txid: int, change_id: int) -> int:
    from profiles.models import ProfileChange

    table = ProfileChange._meta.db_table
    if connection.vendor == "postgresql":
        where, params = "(txid, id) > (%s, %s)", [txid, change_id]
    else:
        where, params = "id > %s", [change_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT %s) AS pending",
            [*params, PENDING_COUNT_CAP],
        )
        return cursor.fetchone()[0]


def queue_length_metrics() -> Iterator[GaugeMetricFamily]:
    """Messages waiting per Celery queue (nothing when the broker is not Redis)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return
    from config.celery import app

    metric = GaugeMetricFamily(
        f"{PREFIX}_celery_queue_length",
        "Messages waiting in a Celery queue (not yet taken by a worker).",
        labels=["queue"],
    )
    client = _redis(url)
    for queue in _queue_names(app):
        keys = [
            queue if step == 0 else f"{queue}{_PRIORITY_SEPARATOR}{step}"
            for step in _PRIORITY_STEPS
        ]
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            metric.add_metric([queue], sum(pipe.execute()))
    yield metric


def _queue_names(app: Any) -> list[str]:
    names = {app.conf.task_default_queue}
    names.update(queue.name for queue in app.conf.task_queues or ())
    names.update(
        route["queue"]
        for route in (app.conf.task_routes or {}).values()
        if isinstance(route, dict) and "queue" in route
    )
    return sorted(names)


_clients: dict[str, Any] = {}


def _redis(url: str) -> Any:
    import redis

    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[url]
