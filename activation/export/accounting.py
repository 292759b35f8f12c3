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
    if outcome.delivered:
        _deliveries_add(dataflow_id, outcome.delivered, now)
    if outcome.empty:
        return
    run = _run_for(dataflow_id, now)
    ExportRun.objects.filter(pk=run.pk).update(
        profiles_received=F("profiles_received") + outcome.received,
        identities_activated=F("identities_activated") + len(outcome.delivered),
        identities_excluded=F("identities_excluded") + len(outcome.excluded),
        identities_failed=F("identities_failed") + len(outcome.failed),
        processing_ms=F("processing_ms") + outcome.processing_ms,
        last_activity_at=now,
        status=RunStatus.PROCESSING,
    )
    _issues_add(run, RunIssueKind.EXCLUDED, outcome.excluded)
    _issues_add(
        run,
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


def _deliveries_add(dataflow_id: int, delivered: list[Delivered], now: dt.datetime) -> None:
    rows = (
        (dataflow_id, d.profile_id, now, d.shard_id, d.sequence_number, d.reason, d.record_id)
        for d in delivered
    )
    if connection.vendor == "postgresql":
        # COPY: a log row per record must not cost more than building the record.
        with connection.cursor() as cursor, cursor.cursor.copy(_COPY_DELIVERIES) as copy:
            for row in rows:
                copy.write_row(row)
        return
    DeliveryLog.objects.bulk_create(
        [DeliveryLog(**dict(zip(_DELIVERY_COLUMNS, row, strict=True))) for row in rows],
        batch_size=1000,
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


def _run_for(dataflow_id: int, now: dt.datetime) -> ExportRun:
    run, _ = ExportRun.objects.get_or_create(
        dataflow_id=dataflow_id,
        window_start=window_of(now),
        defaults={"started_at": now, "last_activity_at": now},
    )
    return run


def _issues_add(run: ExportRun, kind: str, rows: list[Exclusion]) -> None:
    if not rows:
        return
    room = MAX_ISSUES_PER_WINDOW - RunIssue.objects.filter(run=run, kind=kind).count()
    RunIssue.objects.bulk_create(
        [
            RunIssue(
                run=run,
                profile_id=row.profile_id,
                identity=row.identity[:600],
                kind=kind,
                error_code=row.error_code[:100],
                reason=row.reason,
            )
            for row in rows[: max(room, 0)]
        ]
    )
