"""The Prometheus metrics processes record: HTTP, ingestion, export, Celery tasks.

Every process (gunicorn workers, Celery worker processes) counts what it
does here. With `PROMETHEUS_MULTIPROC_DIR` set (production: one directory
per host, shared by the web server and the workers, emptied at deploy), each
process writes its figures to files there and `/metrics` sums them
(prometheus_client's multiprocess mode); without it (`make run`, tests) the
figures live in the process. Figures that are a *state* rather than an event
(export lag, pending change-log rows, queue lengths) are read at scrape time
instead (collectors.py), so they are the same whichever process answers.

Cardinality: labels take values from closed sets (route names of the URL
conf, HTTP methods and status codes, ingestion sources, task names, error and
exclusion codes) except `dataflow`, the dataflow id, which grows with the
number of dataflows, not with traffic; a process labels at most
`METRICS_DATAFLOW_LABEL_LIMIT` distinct ids (default 500) and counts the rest
under `dataflow="other"`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.conf import settings
from prometheus_client import Counter, Histogram

PREFIX = "streamline"
OTHER = "other"

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by route (URL pattern name), method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter(
    f"{PREFIX}_ingestion_records",
    "Profile records received by ingestion (API, import, UI), accepted or rejected.",
    ["source", "outcome"],
)
DELIVERED = Counter(
    f"{PREFIX}_export_records_delivered",
    "Records the stream accepted, per dataflow (a resent record counts each time it lands).",
    ["dataflow"],
)
EXCLUDED = Counter(
    f"{PREFIX}_export_records_excluded",
    "Profiles deliberately not sent, per dataflow and reason code.",
    ["dataflow", "reason"],
)
FAILED = Counter(
    f"{PREFIX}_export_records_failed",
    "Records a run gave up on (retried by a later run), per dataflow and AWS error code.",
    ["dataflow", "code"],
)
RETRIES = Counter(
    f"{PREFIX}_export_record_retries",
    "Records resent after a failed attempt (a retryable per-record error or whole-call "
    "error), per dataflow and error code.",
    ["dataflow", "code"],
)
PUT_CALLS = Counter(
    f"{PREFIX}_export_putrecords_calls",
    "PutRecords calls per dataflow; outcome ok, partial (some entries failed) or error.",
    ["dataflow", "outcome"],
)
PUT_DURATION = Histogram(
    f"{PREFIX}_export_putrecords_duration_seconds",
    "Latency of PutRecords calls (botocore's own retries included), per dataflow.",
    ["dataflow"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_DURATION = Histogram(
    f"{PREFIX}_celery_task_duration_seconds",
    "Celery task run time, by task name and final state.",
    ["task", "state"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 900),
)


class _DataflowLabels:
    """At most `limit` distinct dataflow ids per process; the rest are "other"."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, dataflow_id: int | str) -> str:
        label = str(dataflow_id)
        if label in self._seen:
            return label
        with self._lock:
            if len(self._seen) >= settings.METRICS_DATAFLOW_LABEL_LIMIT:
                return OTHER
            self._seen.add(label)
        return label


dataflow_label = _DataflowLabels()


# --- hooks the product calls -----------------------------------------------------


def http_observed(*, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_DURATION.labels(route, method).observe(seconds)


def ingestion_observed(*, source: str, accepted: int, rejected: int) -> None:
    if accepted:
        INGESTED.labels(source, "accepted").inc(accepted)
    if rejected:
        INGESTED.labels(source, "rejected").inc(rejected)


def export_outcome_observed(
    dataflow_id: int, *, delivered: int, excluded: Iterable[str], failed: Iterable[str]
) -> None:
    """One chunk's outcome: how many delivered, the excluded reasons and failed codes."""
    label = dataflow_label(dataflow_id)
    if delivered:
        DELIVERED.labels(label).inc(delivered)
    for reason, count in _counts(excluded).items():
        EXCLUDED.labels(label, reason).inc(count)
    for code, count in _counts(failed).items():
        FAILED.labels(label, code).inc(count)


def task_observed(*, task: str, state: str, seconds: float) -> None:
    TASK_DURATION.labels(task, state).observe(seconds)


class _Sink(Protocol):
    def put_records(self, entries: list[tuple[bytes, str]]) -> Sequence[Any]: ...


class ObservedSink:
    """A sink that times and counts its PutRecords calls for one dataflow.

    Whole-call errors are the sink's exceptions, each with `.code` and
    `.permanent` (destinations.kinesis.aws.KinesisError); a retryable one
    means every entry of the call is resent.
    """

    def __init__(self, sink: _Sink, dataflow_id: int) -> None:
        self.sink = sink
        self.label = dataflow_label(dataflow_id)

    def put_records(self, entries: list[tuple[bytes, str]]) -> Sequence[Any]:
        started = time.perf_counter()
        try:
            results = self.sink.put_records(entries)
        except Exception as exc:
            PUT_DURATION.labels(self.label).observe(time.perf_counter() - started)
            PUT_CALLS.labels(self.label, "error").inc()
            if not getattr(exc, "permanent", True):
                RETRIES.labels(self.label, str(getattr(exc, "code", ""))).inc(len(entries))
            raise
        PUT_DURATION.labels(self.label).observe(time.perf_counter() - started)
        errors = _counts(r.error_code for r in results if r.error_code)
        PUT_CALLS.labels(self.label, "partial" if errors else "ok").inc()
        from destinations.kinesis.aws import entry_error_retryable

        for code, count in errors.items():
            # A refusal (a code about the record itself) is not a retry: the record
            # ends up excluded with that code (activation.export.delivery).
            if entry_error_retryable(code):
                RETRIES.labels(self.label, code).inc(count)
        return results

    def __getattr__(self, name: str) -> Any:
        # Tests and benchmarks inspect their sinks (MemorySink.entries, calls, ...).
        return getattr(self.sink, name)


def observed_sink(sink: _Sink, dataflow_id: int) -> ObservedSink:
    return sink if isinstance(sink, ObservedSink) else ObservedSink(sink, dataflow_id)


def _counts(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts
