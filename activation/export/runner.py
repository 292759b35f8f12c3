"""One run of one dataflow: read changes, decide, build, send, record progress.

A run holds the dataflow's lock for at most `EXPORT_RUN_BUDGET_S` seconds of
work and then hands over to a fresh task, so long backfills never starve
other dataflows and new changes are served between backfill chunks:

    loop until caught up or out of budget:
        a chunk of captured changes after the cursor  -> export, advance cursor
        else a chunk of pending backfill members      -> export, advance backfill

A chunk's position (cursor, backfill progress) moves only in the transaction
that records its deliveries, and only after every record of the chunk was
accepted by the stream. A crash or a stop leaves the position where it was
and the chunk is exported again (at-least-once; the consumer deduplicates
on `_id`, which is derived from the dataflow, the profile and the change or
backfill that caused the export, so the resent chunk carries the ids of its
first send). Records are built from the profile's current state, so a resent
chunk never takes a profile back in time.

One profile never holds up the others: a profile whose state cannot be read
or whose record cannot be built, and a record the stream refuses for good,
are excluded with their reason, and the chunk and the position go on.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property

from django.db import Error as DatabaseError
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from activation.export.accounting import ChunkOutcome, Exclusion, outcome_record
from activation.export.batching import record_limit, record_problem
from activation.export.decisions import REASON_BACKFILL, audience_of, decide, is_eligible
from activation.export.delivery import (
    Delivered,
    DeliveryStopped,
    Failure,
    OnWait,
    Outgoing,
    RetryPolicy,
    Stats,
    deliver,
)
from activation.export.locking import Lease, LockLost, lease
from activation.export.records import (
    MAX_PARTITION_KEY_CHARS,
    MAX_RECORD_BYTES,
    UNBUILDABLE_CODE,
    ExportContext,
    ProfileSnapshot,
    UnbuildableRecord,
    build_record,
    build_suppression_record,
    partition_key_for,
    printable,
    record_id_for,
    unreadable_reason,
)
from activation.export.selectors import exited_members, snapshots_for
from activation.export.sinks import Sink
from activation.models import Backfill, BackfillStatus, Dataflow
from governance.consent import NO_CONSENT_CODE, NO_CONSENT_REASON, ConsentGate
from governance.enforcement import dataflow_blocked
from governance.services import connection_action_codes
from profiles.changes import Audience, ChangeCursor, audience_rows_after
from profiles.models import MEMBER_STATUSES, SegmentMembership

logger = logging.getLogger(__name__)

CHANGE_CHUNK = 1000
# A backfill's chunks start at BACKFILL_CHUNK members and double while their records
# stay small (each chunk has a fixed cost: the member lists, progress, accounting),
# up to BACKFILL_MAX_CHUNK; large records keep a chunk's records near
# BACKFILL_CHUNK_BYTES in memory.
BACKFILL_CHUNK = 500
BACKFILL_MAX_CHUNK = 2000
BACKFILL_CHUNK_BYTES = 16 * 1024 * 1024
# A chunk of changes is sent while the next is read and built (see ChunkSender),
# unless its records are larger than this: then it is sent on its own.
PIPELINE_MAX_BYTES = 16 * 1024 * 1024
# How often the run's thread looks up while it waits for the sender.
SENDER_POLL_S = 0.05
_LOG_START = ChangeCursor(0, 0)


@dataclass
class RunReport:
    """What a run did (tests, benchmarks, logs)."""

    dataflow_id: int
    state: str = "caught_up"  # see services.dataflow_run
    # Changes of the dataflow's audience read (the others stay in the database).
    changes_read: int = 0
    backfill_profiles: int = 0
    delivered: int = 0
    excluded: int = 0
    failed: int = 0
    chunks: int = 0
    error_code: str = ""
    error_message: str = ""
    elapsed_s: float = 0.0
    stats: Stats = field(default_factory=Stats)

    @property
    def more(self) -> bool:
        return self.state == "more"


@dataclass
class Run:
    """The work of one claimed run; `step()` does one chunk."""

    dataflow: Dataflow
    context: ExportContext
    sink: Sink
    lease: Lease
    policy: RetryPolicy
    report: RunReport
    # Profiles whose current state this run already sent (or excluded) for a
    # change: a backfill in the same run need not send them again.
    handled: set[int] = field(default_factory=set)
    # Told when delivery waits to retry (the dataflow shows the delay at once).
    on_wait: OnWait | None = None
    drained: bool = False
    max_record_bytes: int | None = None
    # Where the next read of changes starts: past the chunk in flight, if any (the
    # dataflow's cursor moves only once a chunk is recorded).
    read_cursor: ChangeCursor = _LOG_START
    # A backfill was open when the run started (one started later gets a run of its
    # own: starting it asks for one while this run holds the lock).
    backfilling: bool = True
    # Members in the next backfill chunk (see BACKFILL_CHUNK).
    backfill_size: int = field(default_factory=lambda: BACKFILL_CHUNK)
    # The next backfill chunk, being read in a thread while this one is sent and recorded.
    reader: BackfillReader | None = None
    read_ahead: Future[BackfillRead] | None = None
    sender: ChunkSender | None = None
    # Chunks handed to the sender, oldest first: at most the one being sent and the
    # one queued behind it.
    in_flight: deque[InFlight] = field(default_factory=deque)

    # Consent policies that apply to the dataflow (None: none applies).
    consent: ConsentGate | None = None
    # A data-usage policy now forbids what the dataflow exports: the run ends.
    blocked: bool = False
    # The connection's marketing actions as read when the run started: the consent
    # gate's, and the first policy check's (later checks read them again).
    actions: frozenset[str] | None = None

    def __post_init__(self) -> None:
        self.actions = connection_action_codes(self.dataflow.connection)
        self.consent = ConsentGate.for_dataflow(self.dataflow, actions=self.actions)
        self.read_cursor = ChangeCursor(self.dataflow.cursor_txid, self.dataflow.cursor_change_id)

    @cached_property
    def audience(self) -> Audience:
        audience = audience_of(self.context)
        if self.consent:  # a consent write exports too (a suppression, or the full record)
            paths = tuple(sorted({*audience.paths, *self.consent.paths}))
            audience = replace(audience, paths=paths)
        return audience

    def step(self) -> bool:
        """Export one chunk; False when there is nothing left to do, or a policy now
        forbids what the dataflow exports (checked before every chunk that sends)."""
        return self._changes_step() or (not self.blocked and self._backfill_step())

    def _forbidden(self, chunk: BuiltChunk) -> bool:
        """Check the policies before a chunk's records leave (a chunk that sends
        nothing needs no check): True, and the run ends, when one now forbids them."""
        if not chunk.items:
            return self.blocked
        actions, self.actions = self.actions, None
        if dataflow_blocked(self.dataflow, actions=actions):
            self.blocked = True
            self.report.state = "policy_violation"
        return self.blocked

    # -- captured changes ------------------------------------------------------

    def _changes_step(self) -> bool:
        if self.drained:
            # The last step read the log to its end: look again after a backfill
            # chunk (changes committed meanwhile also queued a follow-up run).
            self.drained = False
            return False
        cursor = self.read_cursor
        # Only the audience's changes leave the database (see decisions.audience_of);
        # the cursor moves past the others too.
        read = audience_rows_after(cursor, self.audience, limit=CHANGE_CHUNK)
        if read.cursor == cursor:
            return False
        self.drained = read.drained
        self.read_cursor = read.cursor
        started = time.monotonic()
        changes = read.rows
        decision = decide(self.context, changes)
        if self.consent:
            self.consent.add_consent_changes(decision, changes)
        snapshots = self._snapshots(list(decision.reasons))
        eligible = [
            pid
            for pid in decision.reasons
            if pid in snapshots and is_eligible(pid, decision, snapshots[pid].memberships)
        ]
        # What caused each export: the profile's latest change in the chunk.
        causes = {change.profile_id: f"change:{change.id}" for change in changes}
        chunk = self._build(eligible, decision.reasons, causes, snapshots, started)
        chunk.cursor, chunk.changes = read.cursor, len(changes)
        if self._forbidden(chunk):
            return False
        alone = read.drained and not self.in_flight  # a run of one chunk needs no thread
        if alone or self.consent or chunk.size_bytes > PIPELINE_MAX_BYTES:
            # Sent here, after the chunks in flight: a run's only chunk, with a consent
            # gate (whether a profile gets a suppression depends on what earlier
            # chunks delivered, the delivery log), large records (one chunk in memory).
            self.finish_in_flight()
            self._commit_changes(chunk, self._send(chunk))
            return True
        # Pipelined: the sender thread sends chunks one after the other, in the order
        # handed over, so a profile's records keep their order. This chunk is queued
        # behind the one being sent; then the older one is finished (acknowledged,
        # then recorded) while this one goes out, and the next chunk is read and
        # built meanwhile. A chunk queued behind a stopped one is never sent.
        self.in_flight.append(self._sender().submit(chunk))
        self.finish_in_flight(keep=0 if read.drained else 1)
        return True

    def finish_in_flight(self, *, keep: int = 0) -> bool:
        """Wait for the oldest chunks handed to the sender and record each (cursor,
        deliveries) until `keep` are left; True when one was. Raises DeliveryStopped
        as a synchronous send would."""
        finished = False
        while len(self.in_flight) > keep:
            in_flight = self.in_flight.popleft()
            self._commit_changes(in_flight.chunk, self._sender().result(in_flight, self.lease))
            finished = True
        return finished

    def close(self) -> None:
        """End the run's sender: a chunk still being sent is stopped at its next call
        and waited for, a queued one is not sent (neither is recorded: the next run
        sends them again), so no send of this run can land after the next run's."""
        if self.sender is not None:
            self.sender.close()
            self.sender = None
        self.in_flight.clear()
        if self.reader is not None:
            self.reader.close()
            self.reader = self.read_ahead = None

    def _sender(self) -> ChunkSender:
        if self.sender is None:
            self.sender = ChunkSender(self._deliver, self.on_wait)
        return self.sender

    def _commit_changes(self, chunk: BuiltChunk, sent: Sent) -> None:
        """Record a sent chunk of changes: its outcome and the cursor, in one transaction."""
        outcome = self._outcome(chunk, sent)
        with transaction.atomic():
            self._advance(
                active=not outcome.empty,
                cursor_txid=chunk.cursor.txid,
                cursor_change_id=chunk.cursor.change_id,
            )
            outcome_record(self.dataflow.pk, outcome, now=timezone.now())
        self.dataflow.cursor_txid = chunk.cursor.txid
        self.dataflow.cursor_change_id = chunk.cursor.change_id
        self.report.changes_read += chunk.changes
        self.handled.update(d.profile_id for d in outcome.delivered)
        self.handled.update(e.profile_id for e in outcome.excluded)
        self._count(outcome)

    # -- backfills -------------------------------------------------------------

    def _backfill_step(self) -> bool:
        # A backfill chunk skips the profiles this run already sent: those of the
        # chunk in flight too.
        self.finish_in_flight()
        backfills = self._open_backfills()
        if not backfills:
            return False
        started = time.monotonic()
        read = self._read_ahead_for(backfills) or _backfill_read(backfills, self.backfill_size)
        chunk, per_segment, finished = read.chunk, read.per_segment, read.finished
        todo = [profile_id for profile_id in chunk if profile_id not in self.handled]
        snapshots = read.snapshots_of(todo) if read.snapshots is not None else None
        if snapshots is None:
            snapshots = self._snapshots(todo)
        cause = "backfill:" + ",".join(str(backfill.pk) for backfill in backfills)
        reasons = dict.fromkeys(todo, REASON_BACKFILL)
        chunk_ = self._build(todo, reasons, dict.fromkeys(todo, cause), snapshots, started)
        self.backfill_size = _next_backfill_size(self.backfill_size, chunk_)
        if not finished:
            self._read_ahead_after(backfills, read)
        if self._forbidden(chunk_):
            return False
        outcome = self._outcome(chunk_, self._send(chunk_))
        now = timezone.now()
        # Progress in distinct profiles (the merged chunk holds each profile once).
        done = F("backfill_done") + len(chunk)
        progress = {"backfill_done": done, **({"backfill_total": done} if finished else {})}
        with transaction.atomic():
            self._advance(active=not outcome.empty, **progress)
            for backfill in backfills:
                processed = backfill.processed + per_segment.get(str(backfill.segment_id), 0)
                fields: dict[str, object] = {"processed": processed}
                if chunk:
                    fields["last_profile_id"] = max(backfill.last_profile_id, chunk[-1])
                if finished:
                    fields.update(status=BackfillStatus.DONE, finished_at=now, total=processed)
                # Conditional: a replay may have cancelled it meanwhile.
                Backfill.objects.filter(pk=backfill.pk, status=BackfillStatus.RUNNING).update(
                    **fields
                )
            outcome_record(self.dataflow.pk, outcome, now=now)
        self.report.backfill_profiles += len(chunk)
        self._count(outcome)
        return True

    def _read_ahead_after(self, backfills: list[Backfill], read: BackfillRead) -> None:
        """Start reading the chunk after `read` (its members and their state) in the
        reader's thread, so the database answers while this chunk is sent and recorded.

        Only where another connection sees what this one sees: PostgreSQL, outside a
        transaction (a test's transaction hides its rows from other connections)."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return
        if self.reader is None:
            self.reader = BackfillReader(self.context)
        after = [_moved_past(backfill, read.chunk) for backfill in backfills]
        self.read_ahead = self.reader.submit(after, self.backfill_size)

    def _read_ahead_for(self, backfills: list[Backfill]) -> BackfillRead | None:
        """The chunk read ahead, when it starts where these backfills now stand (none
        was cancelled, replaced or moved meanwhile); else None, and it is read now."""
        future, self.read_ahead = self.read_ahead, None
        if future is None:
            return None
        try:
            read = future.result()
        except Exception:  # the ordinary read will meet the problem again, and report it
            logger.debug("dataflow %s: reading ahead failed", self.dataflow.pk, exc_info=True)
            return None
        return read if read.cursors == _cursors(backfills) else None

    def _open_backfills(self) -> list[Backfill]:
        if not self.backfilling:
            return []
        open_statuses = [BackfillStatus.PENDING, BackfillStatus.RUNNING]
        backfills = list(
            Backfill.objects.filter(dataflow=self.dataflow, status__in=open_statuses).order_by("id")
        )
        now = timezone.now()
        active = []
        for backfill in backfills:
            if str(backfill.segment_id) not in self.context.segments:
                backfill.status, backfill.finished_at = BackfillStatus.CANCELLED, now
                backfill.save(update_fields=["status", "finished_at"])
                continue
            if backfill.status == BackfillStatus.PENDING:
                backfill.status, backfill.started_at = BackfillStatus.RUNNING, now
                backfill.save(update_fields=["status", "started_at"])
            active.append(backfill)
        self.backfilling = bool(active)
        return active

    # -- shared ----------------------------------------------------------------

    def _snapshots(self, profile_ids: list[int]) -> dict[int, ProfileSnapshot]:
        """The profiles' current state; one whose stored data cannot be read (a number
        too long for Python, say) becomes an `UnreadableProfile` instead of failing
        the chunk. Halves are retried, so k bad profiles cost O(k log n) reads."""
        try:
            return snapshots_for(self.context, profile_ids)
        except DatabaseError:
            raise  # about the database, not one profile
        except Exception as exc:
            if len(profile_ids) > 1:
                half = len(profile_ids) // 2
                return {
                    **self._snapshots(profile_ids[:half]),
                    **self._snapshots(profile_ids[half:]),
                }
            [profile_id] = profile_ids
            logger.warning("dataflow %s: profile %s unreadable", self.dataflow.pk, profile_id)
            return {profile_id: _unreadable(self.context, profile_id, exc)}

    def _build(
        self,
        profile_ids: list[int],
        reasons: dict[int, str],
        causes: dict[int, str],
        snapshots: dict[int, ProfileSnapshot],
        started: float,
    ) -> BuiltChunk:
        """The records of these profiles, ready to send; a profile whose record cannot
        be built (or that Kinesis could never take) is excluded with its reason."""
        outcome = ChunkOutcome()
        outcome.received = sum(1 for pid in profile_ids if pid in snapshots)
        seed = f"{self.dataflow.pk}:{self.dataflow.created_at.isoformat()}"
        suppress, no_consent = self.consent.split(snapshots) if self.consent else (set(), set())
        items: list[Outgoing] = []
        size_bytes = 0
        for profile_id in profile_ids:
            snapshot = snapshots.get(profile_id)
            if snapshot is None:  # deleted since it changed: nothing to export
                continue
            if profile_id in no_consent:
                identity = _issue_identity(self.context, snapshot)
                outcome.excluded.append(
                    Exclusion(profile_id, identity, NO_CONSENT_CODE, NO_CONSENT_REASON)
                )
                continue
            try:
                if snapshot.__class__ is UnreadableProfile:
                    raise UnbuildableRecord(snapshot.reason)
                record_id = record_id_for(seed, profile_id, causes[profile_id])
                build = build_suppression_record if profile_id in suppress else build_record
                record = build(self.context, snapshot, record_id=record_id)
            except UnbuildableRecord as exc:
                identity = _issue_identity(self.context, snapshot)
                outcome.excluded.append(
                    Exclusion(profile_id, identity, UNBUILDABLE_CODE, exc.reason)
                )
                continue
            key_chars = len(record.partition_key)
            too_large = record.size_bytes > MAX_RECORD_BYTES
            if too_large or not 0 < key_chars <= MAX_PARTITION_KEY_CHARS:
                # The rare record Kinesis may refuse (record_problem says why). Over
                # the default 1 MiB only: does this stream take larger records?
                problem = record_problem(record, self._record_limit() if too_large else 0)
                if problem:
                    outcome.excluded.append(
                        Exclusion(profile_id, record.partition_key, problem[0], problem[1])
                    )
                    continue
            items.append(Outgoing(record, reasons[profile_id]))
            size_bytes += record.size_bytes
        return BuiltChunk(items, outcome, suppress, started, size_bytes)

    def _deliver(
        self, chunk: BuiltChunk, *, before_call: Callable[[], None], on_wait: OnWait | None
    ) -> Sent:
        """Send a built chunk with retries. Talks to the stream only (never to the
        database), so the sender thread can run it."""
        refused: list[Failure] = []
        try:
            delivered = deliver(
                self.sink,
                chunk.items,
                policy=self.policy,
                before_call=before_call,
                stats=self.report.stats,
                refused=refused,
                on_wait=on_wait,
            )
        except DeliveryStopped as stop:
            return Sent(stop.delivered, refused, stop)
        return Sent(delivered, refused)

    def _send(self, chunk: BuiltChunk) -> Sent:
        """Send a chunk in this thread (the lease renewed before every call)."""
        return self._deliver(chunk, before_call=self.lease.keep, on_wait=self.on_wait)

    def _outcome(self, chunk: BuiltChunk, sent: Sent) -> ChunkOutcome:
        """What a sent chunk did; on a stop, record what it did and raise DeliveryStopped."""
        outcome = chunk.outcome
        outcome.delivered = sent.delivered
        outcome.excluded += _refusals(sent.refused)
        outcome.processing_ms = int((time.monotonic() - chunk.started) * 1000)
        if sent.stop is not None:
            outcome.failed = sent.stop.failed
            with transaction.atomic():
                self._advance(active=not outcome.empty)
                outcome_record(self.dataflow.pk, outcome, now=timezone.now())
            self._count(outcome)
            raise sent.stop
        if self.consent:
            self.consent.settle((d.profile_id for d in outcome.delivered), chunk.suppress)
        return outcome

    def _record_limit(self) -> int:
        """The stream's record size limit (KinesisSink asks the stream, once per run)."""
        if self.max_record_bytes is None:
            self.max_record_bytes = record_limit(getattr(self.sink, "max_record_bytes", None))
        return self.max_record_bytes

    def _advance(self, *, active: bool = False, **fields: object) -> None:
        """Write progress only while this run still owns the dataflow.

        `active`: this step exported (or excluded or failed) something, which is
        what the UI's "last activity" tells the marketer.
        """
        updates: dict[str, object] = {"locked_until": timezone.now() + lease(), **fields}
        if active:
            updates["last_activity_at"] = timezone.now()
        owned = Dataflow.objects.filter(pk=self.dataflow.pk, lock_token=self.lease.token).update(
            **updates
        )
        if not owned:
            raise LockLost(f"dataflow {self.dataflow.pk}: run lock lost")
        self.lease.renewed_at = time.monotonic()

    def _count(self, outcome: ChunkOutcome) -> None:
        self.report.chunks += 1
        self.report.delivered += len(outcome.delivered)
        self.report.excluded += len(outcome.excluded)
        self.report.failed += len(outcome.failed)


@dataclass(frozen=True, slots=True)
class UnreadableProfile(ProfileSnapshot):
    """A profile whose stored state could not be read: excluded with `reason`."""

    reason: str = ""


@dataclass
class BuiltChunk:
    """A chunk's records, built and waiting to be sent, and what building them excluded."""

    items: list[Outgoing]
    outcome: ChunkOutcome
    suppress: set[int]  # profiles sent a consent suppression record
    started: float
    size_bytes: int = 0
    # A chunk of changes: where the cursor moves once it is recorded, and its size.
    cursor: ChangeCursor = _LOG_START
    changes: int = 0


@dataclass
class Sent:
    """What sending a chunk did: delivered, refused for good, or stopped."""

    delivered: list[Delivered]
    refused: list[Failure]
    stop: DeliveryStopped | None = None


class SendCancelled(Exception):  # noqa: N818 - a condition, named as such
    """The run ended while its sender still had a chunk: the chunk is sent again later."""


@dataclass
class InFlight:
    chunk: BuiltChunk
    future: Future[Sent]


class ChunkSender:
    """Sends a run's chunks one after the other in a thread of its own, so the run
    reads and builds the next chunk while the stream takes this one.

    The thread only talks to the stream. Everything that touches the database
    stays in the run's thread: renewing the lease while it waits for a chunk,
    recording the chunk, and the "Delivery delayed" notice, which the sender
    hands over and waits for before it retries (the status is true at once).
    """

    def __init__(self, deliver: Callable[..., Sent], on_wait: OnWait | None) -> None:
        self._deliver = deliver
        self._on_wait = on_wait
        self._notices: queue.SimpleQueue[tuple[tuple[object, ...], threading.Event]] = (
            queue.SimpleQueue()
        )
        self._cancelled = threading.Event()
        # Set once a chunk's send stopped: the chunks queued behind it are not sent.
        self._stopped = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-send")

    def submit(self, chunk: BuiltChunk) -> InFlight:
        return InFlight(chunk, self._executor.submit(self._send, chunk))

    def result(self, in_flight: InFlight, lease: Lease) -> Sent:
        """Wait for a chunk, keeping the lease and relaying notices meanwhile."""
        while True:
            try:
                sent = in_flight.future.result(timeout=SENDER_POLL_S)
            except TimeoutError:
                self._relay()
                lease.keep()
                continue
            self._relay()
            return sent

    def close(self) -> None:
        self._cancelled.set()
        self._executor.shutdown(wait=True)

    def _send(self, chunk: BuiltChunk) -> Sent:
        on_wait = None if self._on_wait is None else self._notice
        try:
            self._check()
            sent = self._deliver(chunk, before_call=self._check, on_wait=on_wait)
        except BaseException:
            self._stopped.set()
            raise
        else:
            if sent.stop is not None:
                self._stopped.set()
            return sent
        finally:
            # A sink may have read the database (a test's): leave no connection behind.
            connections.close_all()

    def _notice(self, *args: object) -> None:
        """In the sender: have the run's thread show the delay, then go on retrying."""
        shown = threading.Event()
        self._notices.put((args, shown))
        while not shown.wait(SENDER_POLL_S) and not self._cancelled.is_set():
            pass

    def _relay(self) -> None:
        while not self._notices.empty():
            args, shown = self._notices.get()
            try:
                self._on_wait(*args)  # type: ignore[misc]
            finally:
                shown.set()

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise SendCancelled("the run ended before this chunk was sent")
        if self._stopped.is_set():
            raise SendCancelled("an earlier chunk of this run stopped")


def _unreadable(context: ExportContext, profile_id: int, exc: Exception) -> UnreadableProfile:
    # Its memberships still say whether the dataflow exports it at all.
    memberships = {
        str(segment_id): (status, qualified_at)
        for segment_id, status, qualified_at in SegmentMembership.objects.filter(
            profile_id=profile_id, segment_id__in=list(context.segments)
        ).values_list("segment_id", "status", "last_qualification_time")
    }
    return UnreadableProfile(profile_id, {}, [], memberships, unreadable_reason(exc))


def _issue_identity(context: ExportContext, snapshot: ProfileSnapshot) -> str:
    """What a run issue shows for a profile whose record was not built: its key, or id."""
    try:
        return printable(partition_key_for(context, snapshot))
    except Exception:
        return str(snapshot.profile_id)


def _refusals(refused: list[Failure]) -> list[Exclusion]:
    """Records the stream refused for good, as exclusions with the stream's code."""
    return [
        Exclusion(f.profile_id, printable(f.partition_key), f.error_code, printable(f.message))
        for f in refused
    ]


@dataclass
class BackfillRead:
    """A backfill chunk: its members, counts per segment, whether the backfills end with
    it, and (read ahead) the members' state; `cursors` is where it started from."""

    cursors: tuple[tuple[int, int], ...]
    chunk: list[int]
    per_segment: dict[str, int]
    finished: bool
    snapshots: dict[int, ProfileSnapshot] | None = None

    def snapshots_of(self, profile_ids: list[int]) -> dict[int, ProfileSnapshot]:
        snapshots = self.snapshots or {}
        return {pid: snapshots[pid] for pid in profile_ids if pid in snapshots}


class BackfillReader:
    """Reads a run's next backfill chunk in a thread of its own (with its own database
    connection, kept for the run), while the run sends and records the current one."""

    def __init__(self, context: ExportContext) -> None:
        self._context = context
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read")

    def submit(self, backfills: list[Backfill], size: int) -> Future[BackfillRead]:
        return self._executor.submit(self._read, backfills, size)

    def close(self) -> None:
        self._executor.submit(connections.close_all)
        self._executor.shutdown(wait=True)

    def _read(self, backfills: list[Backfill], size: int) -> BackfillRead:
        read = _backfill_read(backfills, size)
        try:
            read.snapshots = snapshots_for(self._context, read.chunk)
        except Exception:  # an unreadable profile: the run reads these states itself
            read.snapshots = None
        return read


def _backfill_read(backfills: list[Backfill], size: int) -> BackfillRead:
    chunk, per_segment, finished = _backfill_chunk(backfills, size)
    return BackfillRead(_cursors(backfills), chunk, per_segment, finished)


def _cursors(backfills: list[Backfill]) -> tuple[tuple[int, int], ...]:
    return tuple((backfill.pk, backfill.last_profile_id) for backfill in backfills)


def _moved_past(backfill: Backfill, chunk: list[int]) -> Backfill:
    """A copy of the backfill as it stands once this chunk is recorded."""
    moved = copy.copy(backfill)
    if chunk:
        moved.last_profile_id = max(backfill.last_profile_id, chunk[-1])
    return moved


def _next_backfill_size(size: int, chunk: BuiltChunk) -> int:
    """Twice `size` (at most BACKFILL_MAX_CHUNK) while records are small; fewer members
    when this chunk's records held more than BACKFILL_CHUNK_BYTES."""
    if not chunk.items:
        return size
    per_record = max(1, chunk.size_bytes // len(chunk.items))
    return max(1, min(2 * size, BACKFILL_MAX_CHUNK, BACKFILL_CHUNK_BYTES // per_record))


def _backfill_chunk(backfills: list[Backfill], size: int) -> tuple[list[int], dict[str, int], bool]:
    """The next `size` member ids across open backfills, per-segment counts, and done?

    One index range scan per (segment, status) — (segment, status, profile) is
    indexed — merged here, so each chunk costs the same however far the
    backfill has come and however large the segment is. A list cut at `size`
    ends at or after the merged cut-off, so no member below it is skipped.
    """
    lists: list[tuple[str, list[int]]] = []
    for backfill in backfills:
        memberships = [
            SegmentMembership.objects.filter(segment_id=backfill.segment_id, status=status)
            for status in MEMBER_STATUSES
        ]
        if backfill.exited_since:
            memberships.append(exited_members(backfill.segment_id, backfill.exited_since))
        for members in memberships:
            ids = list(
                members.filter(profile_id__gt=backfill.last_profile_id)
                .order_by("profile_id")
                .values_list("profile_id", flat=True)[:size]
            )
            lists.append((str(backfill.segment_id), ids))
    merged = sorted({pid for _, ids in lists for pid in ids})
    chunk = merged[:size]
    exhausted = all(len(ids) < size for _, ids in lists) and len(merged) <= size
    if not chunk:
        return [], {}, True
    cutoff = chunk[-1]
    per_segment: dict[str, int] = {}
    for segment_id, ids in lists:
        per_segment[segment_id] = per_segment.get(segment_id, 0) + sum(
            1 for pid in ids if pid <= cutoff
        )
    return chunk, per_segment, exhausted
