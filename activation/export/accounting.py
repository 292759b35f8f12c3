"""Runs accounting: one ExportRun per dataflow and hour, its issues, and the delivery log.

What the figures mean (SPEC §5): in a run window every profile counts once, in
its final outcome. *Activated*: delivered, whatever the attempts (those that
needed more than one are also counted in `delivered_after_retries`);
*excluded*: deliberately not sent; *failed*: not delivered, its last attempt
failed and nothing delivered it since. *Received* = activated + excluded +
failed: the distinct profiles the window considered.

A profile's outcome in a window is its issue row when it has one (excluded,
failed, or delivered after retries: one row per window and profile, with the
attempts and the last error), else "activated" when the delivery log has it.
Each chunk reads those for its own profiles (two indexed queries), moves each
profile from its earlier outcome to the new one, and adds the differences to
the run in one upsert: no query per record. A delivery also moves the profile's
failures of earlier windows to "delivered after retries" there (the upsert
says whether any window has failures; none, no further query).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from activation.export.delivery import Delivered, Failure
from activation.models import DeliveryLog, ExportRun, RunIssue, RunIssueKind, RunStatus
from core.observability.metrics import export_outcome_observed

# Issue rows per run window; past it the counters go on counting, and a profile
# without a row is taken as new to the window (the counts become per occurrence).
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
    "delivered_after_retries",
    "processing_ms",
)
# Counters move by differences (a failed profile delivered later: failed - 1,
# activated + 1); a new run row starts at the differences, never below zero.
_UPSERT_RUN = (
    f"INSERT INTO {_RUNS} (dataflow_id, window_start, started_at, last_activity_at, status, "
    f"{', '.join(_COUNTERS)}) VALUES (%(dataflow)s, %(window)s, %(now)s, %(now)s, "
    f"'{RunStatus.PROCESSING}', {', '.join(f'GREATEST(%({c})s, 0)' for c in _COUNTERS)}) "
    "ON CONFLICT (dataflow_id, window_start) DO UPDATE SET "
    f"{', '.join(f'{c} = {_RUNS}.{c} + %({c})s' for c in _COUNTERS)}, "
    "last_activity_at = EXCLUDED.last_activity_at, status = EXCLUDED.status RETURNING id, "
    # Whether another window of the dataflow has failures a delivery may resolve.
    f"EXISTS (SELECT 1 FROM {_RUNS} f WHERE f.dataflow_id = %(dataflow)s "
    "AND f.identities_failed > 0 AND f.window_start <> %(window)s)"
)
# Which of these profiles this dataflow delivered in the window: per profile, its last
# delivery by the dataflow before the window's end, one descent of the (profile_id,
# dataflow, sent_at) index. Asked this way on purpose. With the window's start as an
# index condition, statistics older than the hour (a busy hour, a backfill) let the
# planner prefer the (dataflow, sent_at) index and scan every row the dataflow
# delivered in the hour, for every chunk: a cost that grows with the hour's volume.
# In the same round trip, the profiles' issue rows in the window (kind NULL: delivered).
_OUTCOMES_BEFORE = f"""
SELECT i.profile_id, i.kind, i.attempts, i.identity, i.error_code, i.reason
FROM {RunIssue._meta.db_table} i JOIN {_RUNS} r ON r.id = i.run_id
WHERE r.dataflow_id = %(dataflow)s AND r.window_start = %(start)s
    AND i.profile_id = ANY(%(ids)s::bigint[])
UNION ALL
SELECT p.id, NULL, NULL, NULL, NULL, NULL FROM unnest(%(ids)s::bigint[]) AS p(id)
CROSS JOIN LATERAL (
    SELECT d.sent_at FROM {DeliveryLog._meta.db_table} d
    WHERE d.profile_id = p.id AND d.dataflow_id = %(dataflow)s AND d.sent_at < %(end)s
    ORDER BY d.sent_at DESC LIMIT 1
) AS last
WHERE last.sent_at >= %(start)s
"""
_COPY_DELIVERIES = f"COPY {DeliveryLog._meta.db_table} ({', '.join(_DELIVERY_COLUMNS)}) FROM STDIN"

ACTIVATED = "identities_activated"
EXCLUDED = "identities_excluded"
FAILED = "identities_failed"
_ISSUE_FIELDS = ("identity", "kind", "error_code", "reason", "attempts", "updated_at")


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


@dataclass(slots=True)
class _Issue:
    """A profile's issue row in the window (as read, or as it will be written)."""

    kind: str
    attempts: int
    identity: str = ""
    error_code: str = ""
    reason: str = ""
    stored: bool = True


@dataclass
class _Ledger:
    """The chunk's effect on its window: counter differences and issue rows to write."""

    issues: dict[int, _Issue]
    delivered_before: set[int]
    counts: Counter = field(default_factory=Counter)
    writes: dict[int, _Issue] = field(default_factory=dict)
    deletes: list[int] = field(default_factory=list)

    def move(self, profile_id: int, to: str, issue: _Issue | None) -> None:
        """Count the profile in outcome `to` (leaving its earlier one); write its row."""
        before = self.issues.get(profile_id)
        if before is None:
            outcome = ACTIVATED if profile_id in self.delivered_before else None
        else:
            outcome = ACTIVATED if before.kind == RunIssueKind.RETRIED else _counter(before.kind)
        if outcome is None:
            self.counts["profiles_received"] += 1
        else:
            self.counts[outcome] -= 1
        self.counts[to] += 1
        was_retried = before is not None and before.kind == RunIssueKind.RETRIED
        now_retried = issue is not None and issue.kind == RunIssueKind.RETRIED
        self.counts["delivered_after_retries"] += int(now_retried) - int(was_retried)
        if issue is not None:
            issue.stored = before is not None
            issue.identity = issue.identity or (before.identity if before else "")
            self.writes[profile_id] = issue
        elif before is not None:
            self.deletes.append(profile_id)

    def delivered(self, d: Delivered) -> None:
        before = self.issues.get(d.profile_id)
        retried = d.attempts > 1
        issue = None
        if before is not None and before.kind in (RunIssueKind.FAILED, RunIssueKind.RETRIED):
            # Delivered at last: its failed attempts count, the last error stays told.
            code = d.last_error_code or before.error_code
            reason = d.last_error if d.last_error_code else before.reason
            resent = retried or before.kind == RunIssueKind.FAILED
            attempts = before.attempts + (d.attempts if resent else 0)
            issue = _Issue(RunIssueKind.RETRIED, attempts, d.partition_key, code, reason)
        elif retried:
            issue = _Issue(
                RunIssueKind.RETRIED,
                d.attempts,
                d.partition_key,
                d.last_error_code,
                d.last_error,
            )
        self.move(d.profile_id, ACTIVATED, issue)

    def excluded(self, e: Exclusion) -> None:
        before = self.issues.get(e.profile_id)
        attempts = before.attempts if before else 0
        issue = _Issue(RunIssueKind.EXCLUDED, attempts, e.identity, e.error_code, e.reason)
        self.move(e.profile_id, EXCLUDED, issue)

    def failed(self, f: Failure) -> None:
        before = self.issues.get(f.profile_id)
        attempts = (before.attempts if before else 0) + f.attempts
        issue = _Issue(RunIssueKind.FAILED, attempts, f.partition_key, f.error_code, f.message)
        self.move(f.profile_id, FAILED, issue)


def _counter(kind: str) -> str:
    return EXCLUDED if kind == RunIssueKind.EXCLUDED else FAILED


def outcome_record(dataflow_id: int, outcome: ChunkOutcome, *, now: dt.datetime) -> None:
    """Add a chunk's outcomes to its hour's run, its issues and its delivery log rows."""
    if not (outcome.delivered or outcome.excluded or outcome.failed):
        return
    export_outcome_observed(
        dataflow_id,
        delivered=len(outcome.delivered),
        excluded=[e.error_code for e in outcome.excluded],
        failed=[f.error_code for f in outcome.failed],
    )
    window = window_of(now)
    profile_ids = [d.profile_id for d in outcome.delivered]
    profile_ids += [e.profile_id for e in outcome.excluded]
    profile_ids += [f.profile_id for f in outcome.failed]
    ledger = _Ledger(*_outcomes_before(dataflow_id, window, profile_ids))
    issues, before = ledger.issues, ledger.delivered_before
    fresh = 0
    for delivered in outcome.delivered:
        profile_id = delivered.profile_id
        if delivered.attempts == 1 and profile_id not in issues:
            # The common case, kept cheap: delivered at once, no earlier issue.
            fresh += profile_id not in before
        else:
            ledger.delivered(delivered)
    ledger.counts["profiles_received"] += fresh
    ledger.counts[ACTIVATED] += fresh
    for excluded in outcome.excluded:
        ledger.excluded(excluded)
    for failed in outcome.failed:
        ledger.failed(failed)
    if outcome.delivered:
        _deliveries_add(dataflow_id, outcome.delivered, now)
    counts = {name: ledger.counts[name] for name in _COUNTERS}
    counts["processing_ms"] = outcome.processing_ms
    run_id, failures_elsewhere = _run_add(dataflow_id, counts, now)
    _issues_write(run_id, ledger, now)
    if outcome.delivered and failures_elsewhere:
        _failures_resolve(dataflow_id, window, [d.profile_id for d in outcome.delivered], now)


def _outcomes_before(
    dataflow_id: int, window: dt.datetime, profile_ids: list[int]
) -> tuple[dict[int, _Issue], set[int]]:
    """These profiles' issue rows in the window, and which were delivered in it."""
    end = window + dt.timedelta(hours=1)
    if connection.vendor == "postgresql":
        issues: dict[int, _Issue] = {}
        delivered: set[int] = set()
        # An array literal: adapting a list of ints costs a call per element.
        ids = "{" + ",".join(map(str, profile_ids)) + "}"
        with connection.cursor() as cursor:
            cursor.execute(
                _OUTCOMES_BEFORE,
                {"ids": ids, "dataflow": dataflow_id, "start": window, "end": end},
            )
            for profile_id, kind, *issue in cursor.fetchall():
                if kind is None:
                    delivered.add(profile_id)
                else:
                    issues[profile_id] = _Issue(kind, *issue)
        return issues, delivered
    issues = {
        profile_id: _Issue(kind, attempts, identity, code, reason)
        for profile_id, kind, attempts, identity, code, reason in RunIssue.objects.filter(
            run__dataflow_id=dataflow_id, run__window_start=window, profile_id__in=profile_ids
        ).values_list("profile_id", "kind", "attempts", "identity", "error_code", "reason")
    }
    delivered = set(
        DeliveryLog.objects.filter(
            profile_id__in=profile_ids,
            dataflow_id=dataflow_id,
            sent_at__gte=window,
            sent_at__lt=end,
        ).values_list("profile_id", flat=True)
    )
    return issues, delivered


def _issues_write(run_id: int, ledger: _Ledger, now: dt.datetime) -> None:
    if ledger.deletes:
        RunIssue.objects.filter(run_id=run_id, profile_id__in=ledger.deletes).delete()
    if not ledger.writes:
        return
    rows = list(ledger.writes.items())
    if not all(issue.stored for _, issue in rows):
        room = MAX_ISSUES_PER_WINDOW - RunIssue.objects.filter(run_id=run_id).count()
        fresh = [row for row in rows if not row[1].stored][: max(room, 0)]
        rows = [row for row in rows if row[1].stored] + fresh
    RunIssue.objects.bulk_create(
        [
            RunIssue(
                run_id=run_id,
                profile_id=profile_id,
                identity=issue.identity[:600],
                kind=issue.kind,
                error_code=issue.error_code[:100],
                reason=issue.reason,
                attempts=issue.attempts,
                updated_at=now,
            )
            for profile_id, issue in rows
        ],
        update_conflicts=True,
        unique_fields=["run", "profile_id"],
        update_fields=list(_ISSUE_FIELDS),
    )


def _failures_resolve(
    dataflow_id: int, window: dt.datetime, profile_ids: list[int], now: dt.datetime
) -> None:
    """Profiles that failed in earlier windows were delivered now: there they become
    "delivered after retries" (activated), and those runs are settled again."""
    failing_runs = list(
        ExportRun.objects.filter(dataflow_id=dataflow_id, identities_failed__gt=0)
        .exclude(window_start=window)
        .values_list("id", flat=True)
    )
    if not failing_runs:
        return
    stale = RunIssue.objects.filter(
        run_id__in=failing_runs, kind=RunIssueKind.FAILED, profile_id__in=profile_ids
    )
    rows = list(stale.values_list("id", "run_id"))
    if not rows:
        return
    RunIssue.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        kind=RunIssueKind.RETRIED, attempts=F("attempts") + 1, updated_at=now
    )
    for run_id, moved in Counter(run_id for _, run_id in rows).items():
        ExportRun.objects.filter(pk=run_id).update(
            identities_failed=F("identities_failed") - moved,
            identities_activated=F("identities_activated") + moved,
            delivered_after_retries=F("delivered_after_retries") + moved,
        )
    ExportRun.objects.filter(pk__in={run_id for _, run_id in rows}).exclude(
        status=RunStatus.PROCESSING
    ).update(status=settled_status())


def _run_add(dataflow_id: int, counts: dict[str, int], now: dt.datetime) -> tuple[int, bool]:
    """Add counts to the hour's run (created when missing): its id, and whether another
    window of the dataflow has failures (True when unknown)."""
    window = window_of(now)
    if connection.vendor == "postgresql":
        # One statement per chunk instead of a lookup, an update and a look at failures.
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT_RUN, {**counts, "dataflow": dataflow_id, "window": window, "now": now}
            )
            run_id, failures_elsewhere = cursor.fetchone()
            return run_id, failures_elsewhere
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
    return run.pk, True


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


def settled_status() -> Case:
    """A run's status from its counters: Success when everything it received arrived."""
    return Case(
        When(identities_failed__gt=0, identities_activated=0, then=Value(RunStatus.FAILED)),
        When(
            Q(identities_failed__gt=0) | Q(identities_excluded__gt=0),
            then=Value(RunStatus.PARTIAL),
        ),
        default=Value(RunStatus.SUCCESS),
    )


def run_settle(dataflow_id: int, *, now: dt.datetime | None = None) -> None:
    """Set the current hour's run status from its counters (end of a run)."""
    now = now or timezone.now()
    ExportRun.objects.filter(dataflow_id=dataflow_id, window_start=window_of(now)).update(
        status=settled_status()
    )
