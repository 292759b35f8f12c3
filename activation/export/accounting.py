"""Runs accounting: one ExportRun per dataflow and hour, issues, and the delivery log.

Counters are per attempt: a profile whose record failed and was sent again
by a later run counts as received (and failed) in the first and received
(and activated) in the second, the way the reference's streaming runs count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F
from django.utils import timezone

from activation.export.delivery import Delivered, Failure
from activation.models import DeliveryLog, ExportRun, RunIssue, RunIssueKind, RunStatus
from core.observability.metrics import export_outcome_observed

# Issue rows per run window and kind; counters go on counting past it.
MAX_ISSUES_PER_WINDOW = 10_000
_DELIVERY_COLUMNS = (
    "dataflow_id",
    "profile_id",
    "sent_at",
    "shard_id",
    "sequence_number",
    "reason",
    "record_id",
)
_RUNS = ExportRun._meta.db_table
_COUNTERS = (
    "profiles_received",
    "identities_activated",
    "identities_excluded",
    "identities_failed",
    "processing_ms",
)
_UPSERT_RUN = (
    f"INSERT INTO {_RUNS} (dataflow_id, window_start, started_at, last_activity_at, status, "
    f"{', '.join(_COUNTERS)}) VALUES (%(dataflow)s, %(window)s, %(now)s, %(now)s, "
    f"'{RunStatus.PROCESSING}', {', '.join(f'%({c})s' for c in _COUNTERS)}) "
    "ON CONFLICT (dataflow_id, window_start) DO UPDATE SET "
    f"{', '.join(f'{c} = {_RUNS}.{c} + EXCLUDED.{c}' for c in _COUNTERS)}, "
    "last_activity_at = EXCLUDED.last_activity_at, status = EXCLUDED.status RETURNING id"
)
_COPY_DELIVERIES = f"COPY {DeliveryLog._meta.db_table} ({', '.join(_DELIVERY_COLUMNS)}) FROM STDIN"


@dataclass(frozen=True, slots=True)
class Exclusion:
    profile_id: int
    identity: str
    error_code: str
    reason: str


@dataclass
class ChunkOutcome:
    """What one chunk of work did, written in the same transaction as its progress."""

    received: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    processing_ms: int = 0

    @property
    def empty(self) -> bool:
        return not (self.received or self.delivered or self.excluded or self.failed)


def window_of(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def outcome_record(dataflow_id: int, outcome: ChunkOutcome, *, now: dt.datetime) -> None:
    """Add a chunk's counts to its hour's run, its issues and its delivery log rows."""
    export_outcome_observed(
        dataflow_id,
        delivered=len(outcome.delivered),
        excluded=[e.error_code for e in outcome.excluded],
        failed=[f.error_code for f in outcome.failed],
    )
    if outcome.delivered:
        _deliveries_add(dataflow_id, outcome.delivered, now)
    if outcome.empty:
        return
    counts = {
        "profiles_received": outcome.received,
        "identities_activated": len(outcome.delivered),
        "identities_excluded": len(outcome.excluded),
        "identities_failed": len(outcome.failed),
        "processing_ms": outcome.processing_ms,
    }
    run_id = _run_add(dataflow_id, counts, now)
    _issues_add(run_id, RunIssueKind.EXCLUDED, outcome.excluded)
    _issues_add(
        run_id,
        RunIssueKind.FAILED,
        [
            Exclusion(
                profile_id=f.profile_id,
                identity=f.partition_key,
                error_code=f.error_code,
                reason=f.message,
            )
            for f in outcome.failed
        ],
    )


def _run_add(dataflow_id: int, counts: dict[str, int], now: dt.datetime) -> int:
    """Add counts to the hour's run (created when missing); its id."""
    window = window_of(now)
    if connection.vendor == "postgresql":
        # One statement per chunk instead of a lookup and an update.
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT_RUN, {**counts, "dataflow": dataflow_id, "window": window, "now": now}
            )
            return cursor.fetchone()[0]
    run, _ = ExportRun.objects.get_or_create(
        dataflow_id=dataflow_id,
        window_start=window,
        defaults={"started_at": now, "last_activity_at": now},
    )
    ExportRun.objects.filter(pk=run.pk).update(
        **{name: F(name) + value for name, value in counts.items()},
        last_activity_at=now,
        status=RunStatus.PROCESSING,
    )
    return run.pk


def _deliveries_add(dataflow_id: int, delivered: list[Delivered], now: dt.datetime) -> None:
    if connection.vendor == "postgresql":
        _deliveries_copy(dataflow_id, delivered, now)
        return
    DeliveryLog.objects.bulk_create(
        [
            DeliveryLog(
                dataflow_id=dataflow_id,
                profile_id=d.profile_id,
                sent_at=now,
                shard_id=d.shard_id,
                sequence_number=d.sequence_number,
                reason=d.reason,
                record_id=d.record_id,
            )
            for d in delivered
        ],
        batch_size=1000,
    )


def _deliveries_copy(dataflow_id: int, delivered: list[Delivered], now: dt.datetime) -> None:
    """COPY the log rows: a log row per record must not cost more than building the record.

    The rows are written as COPY text in one piece; should any value hold a
    character COPY text would need escaped (none of ours do: ids, digits, fixed
    reasons), the rows go through psycopg's own (escaping, slower) writer instead.
    """
    prefix = f"{dataflow_id}\t"
    sent_at = now.isoformat()
    text = "".join(
        [
            f"{prefix}{d.profile_id}\t{sent_at}\t{d.shard_id}\t{d.sequence_number}\t"
            f"{d.reason}\t{d.record_id}\n"
            for d in delivered
        ]
    )
    rows = len(delivered)
    plain = (
        text.count("\t") == rows * (len(_DELIVERY_COLUMNS) - 1)
        and text.count("\n") == rows
        and "\\" not in text
        and "\r" not in text
    )
    with connection.cursor() as cursor, cursor.cursor.copy(_COPY_DELIVERIES) as copy:
        if plain:
            copy.write(text.encode("utf-8"))
            return
        for d in delivered:
            copy.write_row(
                (
                    dataflow_id,
                    d.profile_id,
                    now,
                    d.shard_id,
                    d.sequence_number,
                    d.reason,
                    d.record_id,
                )
            )


def run_settle(dataflow_id: int, *, now: dt.datetime | None = None) -> None:
    """Set the current hour's run status from its counters (end of a run)."""
    now = now or timezone.now()
    run = ExportRun.objects.filter(dataflow_id=dataflow_id, window_start=window_of(now)).first()
    if run is None:
        return
    if run.identities_failed and not run.identities_activated:
        status = RunStatus.FAILED
    elif run.identities_failed or run.identities_excluded:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.SUCCESS
    ExportRun.objects.filter(pk=run.pk).update(status=status)


def _issues_add(run_id: int, kind: str, rows: list[Exclusion]) -> None:
    if not rows:
        return
    room = MAX_ISSUES_PER_WINDOW - RunIssue.objects.filter(run_id=run_id, kind=kind).count()
    RunIssue.objects.bulk_create(
        [
            RunIssue(
                run_id=run_id,
                profile_id=row.profile_id,
                identity=row.identity[:600],
                kind=kind,
                error_code=row.error_code[:100],
                reason=row.reason,
            )
            for row in rows[: max(room, 0)]
        ]
    )
