"""The export engine's entry points (tasks, the wizard and monitoring call these).

* `dataflow_activate` / `backfill_start`: export a dataflow's current members.
* `schedule_dataflow_run`: queue a run soon, debounced (about one per second).
* `dataflow_run`: one run (runner.py), then the status, alert and follow-up.
* `dataflows_tick`: the beat safety net for anything a trigger missed.
* `dataflows_schedule_for_profiles`: the trigger when profile changes commit.
* `deliveries_prune`: the delivery log's retention.
* `change_log_prune`: the change log's (profiles.ProfileChange) retention.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from activation.export.accounting import run_settle
from activation.export.delivery import DeliveryStopped, RetryPolicy
from activation.export.locking import Lease, LockLost, lock_claim, lock_release
from activation.export.runner import Run, RunReport
from activation.export.selectors import (
    backfill_remaining_profiles,
    export_context_for,
    segment_member_count,
)
from activation.export.sinks import Sink, sink_for
from activation.models import (
    Backfill,
    BackfillStatus,
    Dataflow,
    DataflowQuerySet,
    DataflowSegment,
    DataflowStatus,
    DeliveryLog,
    ExportRun,
    RunIssue,
)
from core.gc_pause import gc_paused
from core.observability.logging import log_context
from core.observability.metrics import observed_sink
from core.observability.worker import shutdown_requested
from core.stored_text import StoredText
from destinations.kinesis.aws import KinesisError
from destinations.kinesis.problems import Problem, problem_of, waiting_text
from destinations.models import Health
from profiles.changes import (
    ChangeCursor,
    Consumer,
    changes_delete_through,
    consumers_pending,
    head_cursor,
    oldest_unread_written_at,
)
from profiles.models import SegmentMembership

logger = logging.getLogger(__name__)

OPEN_BACKFILL = (BackfillStatus.PENDING, BackfillStatus.RUNNING)
# A queued run not started after this long is presumed lost and queued again.
SCHEDULE_STALE_AFTER = dt.timedelta(seconds=30)
# Consecutive failed runs after which a delay (not yet an Error) is alerted.
DELAY_ALERT_AFTER_FAILURES = 5


# --- activation and backfills ---------------------------------------------------------


@transaction.atomic
def dataflow_activate(*, dataflow: Dataflow) -> list[Backfill]:
    """Start exporting: changes from now on, and a backfill of every mapped segment."""
    head = head_cursor()
    Dataflow.objects.filter(pk=dataflow.pk).update(
        cursor_txid=head.txid,
        cursor_change_id=head.change_id,
        failure_count=0,
        retry_at=None,
        last_error_code="",
    )
    dataflow.cursor_txid, dataflow.cursor_change_id = head.txid, head.change_id
    segment_ids = list(dataflow.mapped_segments.values_list("segment_id", flat=True))
    return backfill_start(dataflow=dataflow, segment_ids=segment_ids, reason="activation")


@transaction.atomic
def backfill_start(
    *,
    dataflow: Dataflow,
    segment_ids: Iterable[uuid.UUID | str],
    reason: str = "segment_added",
    exited_since: dt.datetime | None = None,
) -> list[Backfill]:
    """Export the current members of these mapped segments (again, for a replay).

    With `exited_since`, also the profiles that left them since then.
    An unfinished backfill of the same segment is replaced by the new one.
    Raises ValueError naming segments that are not mapped to the dataflow.
    """
    wanted = [uuid.UUID(str(segment_id)) for segment_id in segment_ids]
    mapped = set(
        DataflowSegment.objects.filter(dataflow=dataflow).values_list("segment_id", flat=True)
    )
    unknown = [str(segment_id) for segment_id in wanted if segment_id not in mapped]
    if unknown:
        raise ValueError(f"segments not mapped to dataflow {dataflow.pk}: {', '.join(unknown)}")
    now = timezone.now()
    Backfill.objects.filter(
        dataflow=dataflow, segment_id__in=wanted, status__in=OPEN_BACKFILL
    ).update(status=BackfillStatus.CANCELLED, finished_at=now)
    continuing = Backfill.objects.filter(dataflow=dataflow, status__in=OPEN_BACKFILL).exists()
    backfills = [
        Backfill.objects.create(
            dataflow=dataflow,
            segment_id=segment_id,
            reason=reason,
            total=segment_member_count(segment_id, exited_since=exited_since),
            exited_since=exited_since,
        )
        for segment_id in dict.fromkeys(wanted)
    ]
    _backfill_progress_reset(dataflow, continuing=continuing, now=now)
    schedule_dataflow_run(dataflow.pk)
    return backfills


def _backfill_progress_reset(dataflow: Dataflow, *, continuing: bool, now: dt.datetime) -> None:
    """The dataflow's backfill progress in distinct profiles: what the open backfills
    will still export, plus (when joining backfills already running) what they did."""
    cursors = list(
        Backfill.objects.filter(dataflow=dataflow, status__in=OPEN_BACKFILL).values_list(
            "segment_id", "last_profile_id"
        )
    )
    remaining = backfill_remaining_profiles(cursors)
    if continuing:
        Dataflow.objects.filter(pk=dataflow.pk).update(
            backfill_total=F("backfill_done") + remaining
        )
    else:
        Dataflow.objects.filter(pk=dataflow.pk).update(
            backfill_total=remaining, backfill_done=0, backfill_started_at=now
        )


# --- scheduling -------------------------------------------------------------------------


def schedule_dataflow_run(dataflow_id: int, *, force: bool = False) -> bool:
    """Queue a run of this dataflow soon (see schedule_dataflow_runs); whether one was."""
    return schedule_dataflow_runs([dataflow_id], force=force) == 1


def schedule_dataflow_runs(dataflow_ids: Iterable[int], *, force: bool = False) -> int:
    """Queue a run of each of these dataflows soon (after this transaction commits).

    Debounced: while a run is queued, further calls do nothing (that run will
    see their changes), and a run starts at most every
    `EXPORT_MIN_RUN_INTERVAL_S` and never before a failed run's `retry_at`.
    `force` queues even when one is queued (a run continuing its own work).
    One query finds the dataflows to queue (a trigger for dataflows already
    queued costs nothing more); each is then queued by a conditional update.
    Returns how many runs were queued.
    """
    now = timezone.now()
    due = Dataflow.objects.runnable().filter(pk__in=list(dataflow_ids))
    if not force:
        due = due.filter(_not_queued(now))
    queued = 0
    rows = due.order_by("id").values_list("id", "last_run_at", "retry_at")
    for dataflow_id, last_run_at, retry_at in rows:
        start = now
        if last_run_at:
            start = max(start, last_run_at + _seconds(settings.EXPORT_MIN_RUN_INTERVAL_S))
        if retry_at:
            start = max(start, retry_at)
        queue = Dataflow.objects.filter(pk=dataflow_id)
        if not force:
            queue = queue.filter(_not_queued(now))
        if queue.update(run_scheduled_for=start):
            countdown = max(0.0, (start - now).total_seconds())
            transaction.on_commit(partial(_enqueue_run, dataflow_id, countdown))
            queued += 1
    return queued


def _not_queued(now: dt.datetime) -> Q:
    """No run queued, or the one queued is presumed lost."""
    return Q(run_scheduled_for__isnull=True) | Q(run_scheduled_for__lt=now - SCHEDULE_STALE_AFTER)


def _enqueue_run(dataflow_id: int, countdown: float) -> None:
    from activation.tasks import dataflow_run_task

    try:
        dataflow_run_task.apply_async(args=[dataflow_id], countdown=countdown)
    except Exception:
        # The broker is unreachable. The changes are safe in the database; let the
        # next trigger or the safety tick queue the run instead.
        logger.exception("could not queue an export run of dataflow %s", dataflow_id)
        Dataflow.objects.filter(pk=dataflow_id).update(run_scheduled_for=None)


def dataflows_schedule_for_profiles(*, profile_ids: Iterable[int]) -> int:
    """Queue runs of the enabled dataflows whose audience holds these profiles.

    The audience is every profile with a membership row (any status: one that
    just left still gets its "exited" record) in a mapped segment, so a write
    to anyone else wakes no dataflow at all.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return 0
    dataflow_ids: set[int] = set()
    for start in range(0, len(ids), 10_000):
        dataflow_ids.update(
            DataflowSegment.objects.filter(
                DataflowQuerySet.enabled_q("dataflow__"),
                segment_id__in=SegmentMembership.objects.filter(
                    profile_id__in=ids[start : start + 10_000]
                ).values("segment_id"),
            ).values_list("dataflow_id", flat=True)
        )
    return schedule_dataflow_runs(sorted(dataflow_ids))


def dataflows_tick() -> int:
    """Queue runs of every runnable dataflow with work waiting and nobody on it.

    One pass over the change log serves every dataflow (`consumers_pending`):
    a dataflow is queued only when a change of its audience waits after its
    cursor, and a dataflow with nothing of its audience waiting has its cursor
    moved past those changes here (so it neither runs for them nor holds the
    log back from pruning).
    """
    now = timezone.now()
    rows = Dataflow.objects.runnable().values_list(
        "id", "cursor_txid", "cursor_change_id", "locked_until", "retry_at"
    )
    free = {
        dataflow_id: ChangeCursor(txid, change_id)
        for dataflow_id, txid, change_id, locked_until, retry_at in rows
        if not (locked_until and locked_until > now) and not (retry_at and retry_at > now)
    }
    if not free:
        return 0
    segments: dict[int, list[str]] = {}
    for dataflow_id, segment_id in DataflowSegment.objects.filter(
        dataflow_id__in=list(free)
    ).values_list("dataflow_id", "segment_id"):
        segments.setdefault(dataflow_id, []).append(str(segment_id))
    scan = consumers_pending(
        [Consumer(key, cursor, tuple(segments.get(key, ()))) for key, cursor in free.items()]
    )
    if scan.idle and scan.last is not None:
        _cursors_skip(scan.idle, scan.last, now)
    backfilling = set(
        Backfill.objects.filter(dataflow_id__in=list(free), status__in=OPEN_BACKFILL).values_list(
            "dataflow_id", flat=True
        )
    )
    return schedule_dataflow_runs(sorted(scan.pending | backfilling))


def _cursors_skip(dataflow_ids: set[int], last: ChangeCursor, now: dt.datetime) -> int:
    """Move these idle dataflows' cursors to `last`, unless a run holds one or is past it."""
    behind = Q(cursor_txid__lt=last.txid) | Q(
        cursor_txid=last.txid, cursor_change_id__lt=last.change_id
    )
    return (
        Dataflow.objects.filter(behind, pk__in=list(dataflow_ids))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(cursor_txid=last.txid, cursor_change_id=last.change_id)
    )


def dataflows_retry_for_connection(*, connection_id: int) -> int:
    """A connection's credentials or stream changed: retry its failed dataflows now."""
    ids = list(
        Dataflow.objects.live()
        .filter(connection_id=connection_id, status=DataflowStatus.ERROR)
        .values_list("id", flat=True)
    )
    Dataflow.objects.filter(pk__in=ids).update(retry_at=None)
    return schedule_dataflow_runs(ids, force=True)


# --- a run ------------------------------------------------------------------------------


def dataflow_run(
    *,
    dataflow_id: int,
    sink: Sink | None = None,
    policy: RetryPolicy | None = None,
    budget_s: float | None = None,
) -> RunReport:
    """Export what is pending for one dataflow, for up to `budget_s` seconds.

    The report's state: "caught_up", "more" (budget used up; a follow-up run is
    queued), "stopped" (delivery failed; retried at `retry_at`), "locked"
    (another run has it), "inactive" (not enabled), "waiting_retry",
    "lock_lost" or "missing".
    """
    started = time.monotonic()
    report = RunReport(dataflow_id=dataflow_id)
    token = lock_claim(dataflow_id)
    if token is None:
        report.state = _not_claimed(dataflow_id)
        return report
    try:
        with gc_paused(), log_context(dataflow_id=dataflow_id, run_id=token[:12]):
            _run_claimed(dataflow_id, token, report, sink, policy, budget_s, started)
    finally:
        asked_again = lock_release(dataflow_id, token)
        run_settle(dataflow_id)
        report.elapsed_s = time.monotonic() - started
        _follow_up(dataflow_id, report, asked_again=asked_again)
    logger.info(
        "export run of dataflow %s: %s, %s changes, %s backfill, %s delivered in %.2f s",
        dataflow_id,
        report.state,
        report.changes_read,
        report.backfill_profiles,
        report.delivered,
        report.elapsed_s,
        extra={"dataflow_id": dataflow_id, "run_id": token[:12]},
    )
    return report


def _not_claimed(dataflow_id: int) -> str:
    """Why a run could not claim its dataflow (the report's state), and what follows."""
    row = Dataflow.objects.filter(pk=dataflow_id).only("status", "edit_of_id", "retry_at").first()
    if row is None:
        return "missing"
    if not row.is_runnable:
        # This queued run ends here: let the next trigger queue one (enabling does).
        Dataflow.objects.filter(pk=dataflow_id).update(run_scheduled_for=None)
        return "inactive"
    if row.retry_at and row.retry_at > timezone.now():
        schedule_dataflow_run(dataflow_id, force=True)
        return "waiting_retry"
    return "locked"


@dataclass
class DeliveryWatch:
    """Keeps the dataflow's status true while a run works, cheaply (a write only
    when what it shows changes): "Delivery delayed" from the first attempt that
    got nothing through, cleared — with any error, its alert and the connection's
    Failing health — by the first chunk delivered."""

    dataflow: Dataflow
    delayed: bool = False
    # The dataflow shows an error or a delay from an earlier run.
    troubled: bool = False
    # Its connection is not known healthy: a delivery proves it is.
    unproven: bool = False

    @classmethod
    def of(cls, dataflow: Dataflow) -> DeliveryWatch:
        connection = dataflow.connection
        return cls(
            dataflow=dataflow,
            troubled=bool(
                dataflow.status == DataflowStatus.ERROR
                or dataflow.failure_count
                or dataflow.status_message
            ),
            unproven=connection is not None and connection.health != Health.OK,
        )

    def waiting(self, error: KinesisError | None, code: str, message: str, pending: int) -> None:
        """Delivery's retry loop is about to wait: say so on the dataflow, once."""
        if self.delayed:
            return
        self.delayed = True
        problem = problem_of(error, code=code, stream=self._stream)
        Dataflow.objects.runnable().filter(pk=self.dataflow.pk).update(
            status_message=delay_message(problem, pending), last_error_code=code[:100]
        )

    def delivered(self) -> None:
        """A chunk reached the stream: whatever said otherwise is no longer true."""
        from destinations.services import connection_set_health

        if self.delayed or self.troubled:
            _run_succeeded(self.dataflow)
            self.delayed = self.troubled = False
        if self.unproven:
            connection_set_health(connection=self.dataflow.connection, error=None)
            self.unproven = False

    @property
    def _stream(self) -> str:
        return self.dataflow.connection.stream_name if self.dataflow.connection else ""


# Stored in English, shown translated (core.stored_text).
DELAYED = StoredText("Delivery delayed: %(headline)s; %(waiting)s. %(todo)s")
CANNOT_DELIVER = StoredText("Cannot deliver: %(headline)s; %(waiting)s. %(todo)s")
CANNOT_DELIVER_TITLE = StoredText("Dataflow “%(name)s” cannot deliver: %(headline)s")
DELAYED_TITLE = StoredText("Dataflow “%(name)s”: deliveries delayed, %(headline)s")
NOTHING_LOST = StoredText("%(todo)s Nothing is lost: what is waiting is sent afterwards.")


def delay_message(problem: Problem, pending: int) -> str:
    """The status message while deliveries wait for a retry (one sentence per state)."""
    return DELAYED(headline=problem.headline, waiting=waiting_text(pending), todo=problem.todo)


def error_message(problem: Problem, pending: int) -> str:
    return CANNOT_DELIVER(
        headline=problem.headline, waiting=waiting_text(pending), todo=problem.todo
    )


def _run_claimed(
    dataflow_id: int,
    token: str,
    report: RunReport,
    sink: Sink | None,
    policy: RetryPolicy | None,
    budget_s: float | None,
    started: float,
) -> None:
    # With whether a backfill is open: a run of changes only need not look for one.
    open_backfills = Backfill.objects.filter(dataflow=OuterRef("pk"), status__in=OPEN_BACKFILL)
    dataflow = (
        Dataflow.objects.select_related("connection")
        .annotate(backfilling=Exists(open_backfills))
        .get(pk=dataflow_id)
    )
    if not dataflow.is_runnable:
        report.state = "inactive"
        return
    deadline = started + (settings.EXPORT_RUN_BUDGET_S if budget_s is None else budget_s)
    watch = DeliveryWatch.of(dataflow)
    run: Run | None = None
    try:
        run = Run(
            dataflow=dataflow,
            context=export_context_for(dataflow),
            sink=observed_sink(sink or sink_for(dataflow), dataflow_id),
            lease=Lease(dataflow_id=dataflow_id, token=token),
            policy=policy or RetryPolicy.from_settings(),
            report=report,
            on_wait=watch.waiting,
            backfilling=getattr(dataflow, "backfilling", True),  # the annotation above
        )
        report.state = "caught_up"
        delivered = 0
        while run.step():
            if report.delivered > delivered:
                delivered = report.delivered
                watch.delivered()
            # A worker shutting down (SIGTERM) hands the rest to a fresh run now.
            if time.monotonic() >= deadline or shutdown_requested():
                report.state = "more"
                break
        # The last chunk may still be on its way (runs send while they read on).
        run.finish_in_flight()
        if report.delivered > delivered:
            watch.delivered()
    except DeliveryStopped as stop:
        report.state = "stopped"
        report.error_code, report.error_message = stop.code, stop.message
        _run_failed(dataflow, stop)
        return
    except LockLost:
        logger.warning("dataflow %s: another run took over; stopping this one", dataflow_id)
        report.state = "lock_lost"
        return
    except Exception as exc:
        # A bug or an outage we did not foresee (database, time limit): show it on
        # the dataflow and retry with backoff, instead of failing every tick unseen.
        logger.exception("export run of dataflow %s failed", dataflow_id)
        stop = DeliveryStopped(
            code=type(exc).__name__,
            message=str(exc),
            permanent=False,
            delivered=[],
            failed=[],
            error=exc,
        )
        report.state = "stopped"
        report.error_code, report.error_message = stop.code, stop.message
        _run_failed(dataflow, stop)
        return
    finally:
        if run is not None:
            run.close()
    if watch.delayed or watch.troubled:
        # Caught up without an error (nothing needed sending): not in trouble any more.
        _run_succeeded(dataflow)


def _run_succeeded(dataflow: Dataflow) -> bool:
    """Back to normal: Enabled, no message, no backoff, the dataflow's alert resolved."""
    from alerts.services import alert_resolve, dataflow_error_key

    recovered = Dataflow.objects.filter(pk=dataflow.pk, status=DataflowStatus.ERROR).update(
        status=DataflowStatus.ENABLED
    )
    Dataflow.objects.filter(pk=dataflow.pk).update(
        status_message="", failure_count=0, retry_at=None, last_error_code=""
    )
    alert_resolve(dedupe_key=dataflow_error_key(dataflow.pk))
    if recovered:
        logger.info("dataflow %s recovered from its error", dataflow.pk)
    return bool(recovered)


def _run_failed(dataflow: Dataflow, stop: DeliveryStopped) -> None:
    from alerts.models import AlertKind
    from alerts.services import alert_raise, dataflow_error_key
    from destinations.services import connection_set_health

    failures = dataflow.failure_count + 1
    delay = min(settings.EXPORT_FAILED_RUN_RETRY_CAP_S, 2.0**failures) * random.uniform(0.8, 1.0)
    fields = {
        "failure_count": failures,
        "retry_at": timezone.now() + _seconds(delay),
        "last_error_code": stop.code[:100],
    }
    stream = dataflow.connection.stream_name if dataflow.connection else ""
    problem = problem_of(stop.error, code=stop.code, stream=stream)
    pending = max(len(stop.failed), 1)
    still_on = Dataflow.objects.runnable().filter(pk=dataflow.pk)
    if stop.permanent:
        still_on.update(
            status=DataflowStatus.ERROR, status_message=error_message(problem, pending), **fields
        )
        if problem.connection_fault and dataflow.connection is not None:
            # The connection's own problem: its health and its one alert say so.
            connection_set_health(connection=dataflow.connection, error=stop.error)
            return
        title = CANNOT_DELIVER_TITLE(name=dataflow.name, headline=problem.headline)
    else:
        still_on.update(status_message=delay_message(problem, pending), **fields)
        if failures < DELAY_ALERT_AFTER_FAILURES:
            return
        title = DELAYED_TITLE(name=dataflow.name, headline=problem.headline)
    alert_raise(
        kind=AlertKind.DATAFLOW_ERROR,
        title=title,
        message=NOTHING_LOST(todo=problem.todo),
        dedupe_key=dataflow_error_key(dataflow.pk),
        dataflow=dataflow,
    )


def _follow_up(dataflow_id: int, report: RunReport, *, asked_again: bool) -> None:
    """Queue the next run when work is left or changes arrived while this one ran."""
    more = report.state in ("more", "stopped")
    woken = report.state == "caught_up" and asked_again
    if more or woken:
        schedule_dataflow_run(dataflow_id, force=True)


# --- retention --------------------------------------------------------------------------

# Backfill.reason of the re-export a dataflow gets when the change log was pruned
# past it while disabled (its page shows RETENTION_BACKFILL_TEXT).
RETENTION_BACKFILL = "retention"
RETENTION_BACKFILL_TEXT = gettext_lazy(
    "Re-export of current members: the dataflow was disabled longer than the change "
    "log keeps changes for it, so instead of the changes it missed, every member's "
    "current state is sent (and an “exited” record for everyone who left meanwhile)."
)
# Clocks of app servers differ a little: a profile that left a segment this long
# before the first change a dataflow missed is re-exported too.
_CLOCK_MARGIN = dt.timedelta(minutes=5)


def change_log_prune(*, now: dt.datetime | None = None, batch: int = 5_000) -> int:
    """Delete the change rows every dataflow has read (older than the safety window).

    The log is held at the oldest cursor of the dataflows that will read it:
    enabled ones, ones in Error (retried), and disabled ones for at most
    `CHANGE_LOG_RETENTION_DAYS`. A disabled dataflow missing changes older than
    that lets go instead: its cursor moves to the head and it gets a
    `RETENTION_BACKFILL` of its members' current state (and of those who left
    since), which it sends once enabled again. Returns the rows deleted.
    """
    now = now or timezone.now()
    retention = now - dt.timedelta(days=settings.CHANGE_LOG_RETENTION_DAYS)
    disabled = Dataflow.objects.live().filter(status=DataflowStatus.DISABLED)
    for dataflow in disabled.only("pk", "cursor_txid", "cursor_change_id"):
        cursor = ChangeCursor(dataflow.cursor_txid, dataflow.cursor_change_id)
        missed_since = oldest_unread_written_at(cursor)
        if missed_since is not None and missed_since < retention:
            _cursor_expire(dataflow, cursor, missed_since=missed_since)
    readers = Dataflow.objects.change_log_readers().values_list("cursor_txid", "cursor_change_id")
    # Taken after the readers' cursors: nothing a reader has not read lies below it.
    held = min((ChangeCursor(*pair) for pair in readers), default=head_cursor())
    written_before = now - dt.timedelta(seconds=settings.CHANGE_LOG_SAFETY_WINDOW_S)
    deleted = changes_delete_through(held, written_before=written_before, batch=batch)
    if deleted:
        logger.info("change log: deleted %s changes up to %s", deleted, held)
    return deleted


@transaction.atomic
def _cursor_expire(dataflow: Dataflow, cursor: ChangeCursor, *, missed_since: dt.datetime) -> None:
    """A disabled dataflow past retention: re-export current state instead of the changes."""
    head = head_cursor()
    moved = Dataflow.objects.filter(
        pk=dataflow.pk,
        status=DataflowStatus.DISABLED,
        cursor_txid=cursor.txid,
        cursor_change_id=cursor.change_id,
    ).update(cursor_txid=head.txid, cursor_change_id=head.change_id)
    if not moved:
        return  # enabled (or moved) meanwhile: it reads the log itself
    dataflow.cursor_txid, dataflow.cursor_change_id = head.txid, head.change_id
    segment_ids = list(dataflow.mapped_segments.values_list("segment_id", flat=True))
    backfill_start(
        dataflow=dataflow,
        segment_ids=segment_ids,
        reason=RETENTION_BACKFILL,
        exited_since=missed_since - _CLOCK_MARGIN,
    )
    logger.warning(
        "dataflow %s: disabled past the change log's retention; members will be re-exported",
        dataflow.pk,
    )


def deliveries_prune(
    *, days: int | None = None, batch: int = 10_000, limit: int | None = None
) -> int:
    """The daily retention of everything that grows with traffic or time (README
    "Retention"): delivery-log rows and run issues after `DELIVERY_LOG_RETENTION_DAYS`
    (default 30); hourly runs, finished backfills and resolved alerts after
    `HISTORY_RETENTION_DAYS` (90); audit entries after `AUDIT_RETENTION_DAYS`
    (365, 0 keeps them). Batched deletes, stopping after about `limit` rows (None:
    all); returns the rows deleted."""
    from alerts.models import Alert
    from audit.models import AuditEntry

    now = timezone.now()
    days = settings.DELIVERY_LOG_RETENTION_DAYS if days is None else days
    cutoff = now - dt.timedelta(days=days)
    history = now - dt.timedelta(days=max(days, settings.HISTORY_RETENTION_DAYS))
    old_runs = ExportRun.objects.filter(window_start__lt=cutoff).values_list("id", flat=True)
    # Per dataflow so each batch is a range scan of the (dataflow, sent_at) index.
    batches = [
        DeliveryLog.objects.filter(dataflow_id=dataflow_id, sent_at__lt=cutoff)
        for dataflow_id in Dataflow.objects.values_list("id", flat=True)
    ]
    batches += [
        RunIssue.objects.filter(run_id__in=list(old_runs)),
        ExportRun.objects.filter(window_start__lt=history),
        Backfill.objects.filter(
            status__in=(BackfillStatus.DONE, BackfillStatus.CANCELLED), finished_at__lt=history
        ),
        Alert.objects.filter(resolved_at__lt=history),
    ]
    if settings.AUDIT_RETENTION_DAYS:
        audit_cutoff = now - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)
        batches.append(AuditEntry.objects.filter(created_at__lt=audit_cutoff))
    deleted = 0
    for old in batches:
        deleted += _delete_in_batches(old, batch, None if limit is None else limit - deleted)
        if limit is not None and deleted >= limit:
            break
    return deleted


def _delete_in_batches(old: QuerySet, batch: int, limit: int | None = None) -> int:
    deleted = 0
    while limit is None or deleted < limit:
        size = batch if limit is None else min(batch, limit - deleted)
        ids = list(old.values_list("id", flat=True)[:size])
        if not ids:
            break
        old.model.objects.filter(id__in=ids).delete()
        deleted += len(ids)
    return deleted


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)
