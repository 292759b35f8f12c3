"""Segments: saving them, membership transitions, and batch evaluation.

Membership statuses follow the reference product:

* not a member (or exited) and qualifies          -> ``realized`` (lastQualificationTime = now)
* ``realized`` and still qualifies later          -> ``existing``
* ``realized``/``existing`` and no longer qualifies -> ``exited`` (lastQualificationTime = now)

Only entering (``realized``) and leaving (``exited``) are *changes* for export
(SPEC §3): they are recorded in ``ProfileChange.membership_changes``. The
``realized -> existing`` step refines the stored status without a change row.

Streaming evaluation runs inside every profile write (profiles.services).
Batch evaluation (``segment_evaluate``) walks all profiles in id ranges: it
finds the qualifying ids of a range (in SQL on PostgreSQL, in Python
elsewhere), and only for the profiles whose membership must transition it
takes their row locks in a short transaction, re-checks them and writes the
memberships and change rows. No transaction spans more than one range and no
more than one range of rows is held in memory, so a million profiles need
neither a giant transaction nor a giant heap.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from core.input_policy import text_problem
from core.stored_text import StoredText
from profiles import bulk
from profiles.models import (
    MEMBER_STATUSES,
    SEGMENT_DESCRIPTION_MAX_LENGTH,
    SEGMENT_NAME_MAX_LENGTH,
    MembershipStatus,
    Profile,
    Segment,
    SegmentMembership,
)
from profiles.rules import Predicate, RuleMatches, check_rule, matcher, supports_sql, today_utc
from profiles.signals import send_profiles_changed

logger = logging.getLogger(__name__)

REALIZED, EXISTING, EXITED = (
    MembershipStatus.REALIZED,
    MembershipStatus.EXISTING,
    MembershipStatus.EXITED,
)
# Transitions that are changes for export.
CAPTURED = frozenset({REALIZED.value, EXITED.value})
CHUNK = 10_000


def membership_transition(status: str | None, qualifies: bool) -> str | None:
    """The new status after an evaluation, or None when it stays as it is."""
    if qualifies:
        if status in (None, EXITED):
            return REALIZED.value
        if status == REALIZED:
            return EXISTING.value
        return None
    if status in MEMBER_STATUSES:
        return EXITED.value
    return None


@dataclass(frozen=True)
class ActiveSegment:
    id: str
    predicate: Predicate


def active_segments(*, today: dt.date | None = None) -> list[ActiveSegment]:
    """The active segments with their compiled predicates (streaming evaluation)."""
    today = today or today_utc()
    return [
        ActiveSegment(id=str(pk), predicate=matcher(rule, today=today))
        for pk, rule in Segment.objects.filter(active=True).values_list("id", "rule")
    ]


# --- saving segments ----------------------------------------------------------------


def segment_create(
    *, name: str, rule: dict, description: str = "", active: bool = True, evaluate: bool = True
) -> Segment:
    """Create a segment; its members are found by a batch evaluation after commit."""
    check_rule(rule)
    _check_texts(name=name, description=description)
    segment = Segment.objects.create(name=name, description=description, rule=rule, active=active)
    if evaluate and active:
        segment_schedule_evaluation(segment)
    return segment


def segment_update(
    *, segment: Segment, name: str, rule: dict, description: str, active: bool
) -> Segment:
    """Save a segment; a new rule (or re-activation) re-evaluates every profile."""
    check_rule(rule)
    _check_texts(name=name, description=description)
    reevaluate = active and (rule != segment.rule or not segment.active)
    segment.name, segment.description, segment.rule, segment.active = (
        name,
        description,
        rule,
        active,
    )
    segment.save()
    if reevaluate:
        segment_schedule_evaluation(segment)
    return segment


# --- what a change does to the dataflows that export a segment -------------------------


@dataclass(frozen=True)
class Exporter:
    id: int
    name: str
    status: str


def segment_exporters(segment: Segment) -> list[Exporter]:
    """The finished dataflows that export segment (activation owns the definition)."""
    from activation.selectors import dataflows_exporting

    found = dataflows_exporting(segment_ids=[segment.pk])[segment.pk]
    return [Exporter(d.pk, d.name, d.status) for d in found]


# A dataflow's change log entry: stored in English, shown translated (core.stored_text).
SEGMENT_DELETED = StoredText("Segment “%(name)s” was deleted; this dataflow no longer exports it.")


def names_text(names: list[str]) -> str:
    """“A”, “A and B”, “A, B and C”."""
    quoted = [f"“{name}”" for name in names]
    if len(quoted) < 2:
        return "".join(quoted)
    return gettext("%(names)s and %(last)s") % {"names": ", ".join(quoted[:-1]), "last": quoted[-1]}


@dataclass(frozen=True)
class RuleChangePreview:
    """What saving a segment will do, computed without writing anything."""

    leave: int
    join: int
    exporters: list[Exporter]

    @property
    def records(self) -> int:
        """Exit and entry records the exporting dataflows receive (one per mover each)."""
        return self.leave + self.join if self.exporters else 0

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.exporters) and self.records > 0

    @property
    def text(self) -> str:
        params = {
            "leave": number_format(self.leave, force_grouping=True),
            "join": number_format(self.join, force_grouping=True),
            "records": number_format(self.records, force_grouping=True),
            "names": names_text([e.name for e in self.exporters]),
        }
        if not self.exporters:
            text = gettext(
                "%(leave)s member(s) leave, %(join)s join; no dataflow exports this segment."
            )
        elif len(self.exporters) == 1:
            text = gettext(
                "%(leave)s member(s) leave, %(join)s join; %(records)s record(s) go to "
                "dataflow %(names)s."
            )
        else:
            text = gettext(
                "%(leave)s member(s) leave, %(join)s join; %(records)s record(s) go to "
                "dataflows %(names)s."
            )
        return text % params

    def as_dict(self) -> dict[str, Any]:
        return {
            "leave": self.leave,
            "join": self.join,
            "records": self.records,
            "dataflows": [{"id": e.id, "name": e.name, "state": e.status} for e in self.exporters],
            "summary": self.text,
        }


def segment_change_preview(
    *, segment: Segment, rule: dict, active: bool, today: dt.date | None = None
) -> RuleChangePreview:
    """Members that would leave and profiles that would join if segment were saved so.

    Only a new rule (or re-activation) moves members, exactly as segment_update
    decides; the counts use the same rule evaluation as the batch evaluator.
    """
    check_rule(rule)
    exporters = segment_exporters(segment)
    if not (active and (rule != segment.rule or not segment.active)):
        return RuleChangePreview(leave=0, join=0, exporters=exporters)
    today = today or today_utc()
    live = SegmentMembership.objects.filter(segment=segment, status__in=MEMBER_STATUSES)
    live_count = live.count()
    if supports_sql(connection):
        # Three counts in the database: no id set is held in memory.
        matching = Profile.objects.filter(RuleMatches(rule, today=today))
        match_count = matching.count()
        stay = matching.filter(id__in=live.values("profile_id")).count()
    else:
        predicate = matcher(rule, today=today)
        live_ids = set(live.values_list("profile_id", flat=True))
        match_count = stay = 0
        for pk, attributes in Profile.objects.values_list("id", "attributes").iterator(
            chunk_size=CHUNK
        ):
            if predicate(attributes):
                match_count += 1
                stay += pk in live_ids
    return RuleChangePreview(leave=live_count - stay, join=match_count - stay, exporters=exporters)


@transaction.atomic
def segment_delete(*, segment: Segment, user: Any) -> list[Exporter]:
    """Delete a segment; each dataflow that exported it records why it stopped
    (activation's service writes that record: a dataflow's history is activation's).

    Its mapping rows go with it (cascade, audited on each dataflow); returns the
    dataflows that exported it so the caller can name them.
    """
    from activation.services import dataflows_note_segment_deleted

    exporters = segment_exporters(segment)
    name = segment.name
    dataflows_note_segment_deleted(
        dataflow_ids=[exporter.id for exporter in exporters],
        segment_id=segment.pk,
        segment_name=name,
        user=user,
    )
    logger.info("user %s deleted segment %s (%s)", user.pk, segment.pk, name)
    segment.delete()
    return exporters


def _check_texts(*, name: str, description: str) -> None:
    """ValidationError by field when the name or description breaks the limits or the policy."""
    errors = {}
    for field, value, limit in (
        ("name", name, SEGMENT_NAME_MAX_LENGTH),
        ("description", description, SEGMENT_DESCRIPTION_MAX_LENGTH),
    ):
        if len(value) > limit:
            errors[field] = gettext("is %(length)s characters long; at most %(max)s") % {
                "length": number_format(len(value), force_grouping=True),
                "max": number_format(limit, force_grouping=True),
            }
        elif problem := text_problem(value):
            errors[field] = problem
    if not name.strip():
        errors.setdefault("name", gettext("is required"))
    if errors:
        raise ValidationError(errors)


def segment_schedule_evaluation(segment: Segment) -> None:
    """Queue a batch evaluation of segment once the current transaction commits."""
    from profiles.tasks import segment_evaluate_task

    segment_id = str(segment.pk)
    transaction.on_commit(lambda: segment_evaluate_task.delay(segment_id))


def segments_schedule_all() -> int:
    """Queue a batch evaluation of every active segment (the beat job); returns how many."""
    segments = list(Segment.objects.filter(active=True))
    for segment in segments:
        segment_schedule_evaluation(segment)
    return len(segments)


# --- batch evaluation -------------------------------------------------------------


@dataclass
class EvaluationStats:
    realized: int = 0
    existing: int = 0
    exited: int = 0
    completed: bool = False


@dataclass(frozen=True)
class EvaluationCursor:
    """Where a batch evaluation goes on: after profile id `done`, up to `top` (the last
    profile when it started), for the segment as saved at `version`, on day `day`.

    A plain JSON object in a task's arguments (`as_json`/`from_json`)."""

    done: int
    top: int
    version: str
    day: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EvaluationCursor":
        return cls(
            done=int(data["done"]), top=int(data["top"]), version=data["version"], day=data["day"]
        )


def segment_evaluate(
    *,
    segment_id: Any,
    chunk_size: int = CHUNK,
    today: dt.date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> EvaluationStats:
    """Evaluate one segment over every profile, in id ranges of chunk_size, in this call.

    Stops early (``completed`` False) when the segment is edited, deactivated
    or deleted meanwhile: saving it queued a fresh evaluation.
    """
    stats, _ = segment_evaluate_step(
        segment_id=segment_id, chunk_size=chunk_size, today=today, on_progress=on_progress
    )
    return stats


def segment_evaluate_step(
    *,
    segment_id: Any,
    cursor: EvaluationCursor | None = None,
    chunks: int | None = None,
    chunk_size: int | None = None,
    today: dt.date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[EvaluationStats, EvaluationCursor | None]:
    """Evaluate at most `chunks` id ranges (all when None) from `cursor` (the start when None).

    Returns the stats and the cursor to go on from, or None when the evaluation
    completed or stopped (the segment was edited, deactivated or deleted: saving
    it queued a fresh evaluation). Ranges are idempotent: evaluating one again
    (a task redelivered after a crash) changes nothing more.
    """
    stats = EvaluationStats()
    chunk_size = chunk_size or CHUNK
    segment = Segment.objects.filter(pk=segment_id, active=True).first()
    if segment is None:
        return stats, None
    if cursor is None:
        # Profiles created after this point are evaluated by their own write.
        top = Profile.objects.aggregate(top=Max("id"))["top"] or 0
        day = (today or today_utc()).isoformat()
        cursor = EvaluationCursor(done=0, top=top, version=segment.updated_at.isoformat(), day=day)
    today = dt.date.fromisoformat(cursor.day)
    predicate = matcher(segment.rule, today=today)
    done, ranges = cursor.done, 0
    while chunks is None or ranges < chunks:
        # Ranges start at the next existing id, so gaps in the ids cost nothing.
        low = (
            Profile.objects.filter(id__gt=done).order_by("id").values_list("id", flat=True).first()
        )
        if low is None or low > cursor.top:
            return _completed(segment, cursor, stats), None
        if not _unchanged(segment, cursor.version):
            logger.info("segment %s changed during evaluation; stopping", segment.pk)
            return stats, None
        done = min(low + chunk_size - 1, cursor.top)
        _evaluate_range(segment, predicate, low, done, today, stats)
        ranges += 1
        if on_progress:
            on_progress(done, cursor.top)
        if done >= cursor.top:
            return _completed(segment, cursor, stats), None
    return stats, replace(cursor, done=done)


def _completed(
    segment: Segment, cursor: EvaluationCursor, stats: EvaluationStats
) -> EvaluationStats:
    """Mark the evaluation done (`evaluated_at`) unless the segment was saved meanwhile."""
    started_version = dt.datetime.fromisoformat(cursor.version)
    Segment.objects.filter(pk=segment.pk, updated_at=started_version).update(
        evaluated_at=timezone.now()
    )
    stats.completed = True
    return stats


def _unchanged(segment: Segment, version: str) -> bool:
    """Is the segment still active and saved as it was when the evaluation started?"""
    current = Segment.objects.filter(pk=segment.pk, active=True).values_list(
        "updated_at", flat=True
    )
    return any(updated_at.isoformat() == version for updated_at in current)


def _evaluate_range(
    segment: Segment,
    predicate: Predicate,
    low: int,
    high: int,
    today: dt.date,
    stats: EvaluationStats,
) -> None:
    in_range = Profile.objects.filter(id__gte=low, id__lte=high)
    if supports_sql(connection):
        qualifying = set(
            in_range.filter(RuleMatches(segment.rule, today=today)).values_list("id", flat=True)
        )
    else:
        rows = in_range.values_list("id", "attributes")
        qualifying = {pk for pk, attributes in rows if predicate(attributes)}
    statuses = dict(
        SegmentMembership.objects.filter(
            segment=segment,
            status__in=[REALIZED, EXISTING, EXITED],
            profile_id__gte=low,
            profile_id__lte=high,
        ).values_list("profile_id", "status")
    )
    movers = [pk for pk in qualifying if membership_transition(statuses.get(pk), True) == REALIZED]
    movers += [
        pk for pk, status in statuses.items() if status in MEMBER_STATUSES and pk not in qualifying
    ]
    if movers:
        _apply_transitions(segment, predicate, sorted(movers), stats)
    still_in = [pk for pk, status in statuses.items() if status == REALIZED and pk in qualifying]
    if still_in:
        # realized -> existing is not a change for export: no lock, no change row.
        # The status condition makes a concurrent exit win.
        stats.existing += SegmentMembership.objects.filter(
            segment=segment, profile_id__in=still_in, status=REALIZED
        ).update(status=EXISTING, updated_at=timezone.now())


@transaction.atomic
def _apply_transitions(
    segment: Segment, predicate: Predicate, profile_ids: list[int], stats: EvaluationStats
) -> None:
    """Lock the profiles, re-check them with their current attributes, write transitions."""
    now = timezone.now()
    rows = (
        Profile.objects.select_for_update()
        .filter(id__in=profile_ids)
        .order_by("id")
        .values_list("id", "attributes")
    )
    current = {
        pk: (mid, status)
        for mid, pk, status in SegmentMembership.objects.filter(
            segment=segment, profile_id__in=profile_ids
        ).values_list("id", "profile_id", "status")
    }
    creates: list[tuple[int, str, str]] = []
    updates: list[tuple[int, str, dt.datetime]] = []
    changes: list[bulk.ChangeRow] = []
    key = str(segment.pk)
    for pk, attributes in rows:
        mid, status = current.get(pk, (None, None))
        new = membership_transition(status, predicate(attributes))
        if new not in CAPTURED:
            continue
        if mid is None:
            creates.append((pk, key, new))
        else:
            updates.append((mid, new, now))
        changes.append((pk, [], [], [], [], {key: new}, "segment"))
        if new == REALIZED:
            stats.realized += 1
        else:
            stats.exited += 1
    bulk.memberships_insert(creates, now=now)
    bulk.memberships_update(updates, now=now)
    bulk.changes_insert(changes, now=now)
    send_profiles_changed([c[0] for c in changes])
