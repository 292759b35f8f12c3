"""Which changed profiles a dataflow exports, and why (SPEC §3, the reference's rules).

A profile that is in (or has just left) a segment mapped to the dataflow is
exported when one of its captured changes

1. moved it into (``realized``) or out of (``exited``) a mapped segment,
2. added or removed an identity (its identity map changed), or
3. wrote a mapped attribute (with ``export_only_on_value_change``: changed
   its value).

Nothing else exports it. The change reader already dropped, in SQL, every
change of a profile that is neither a current member nor moving in or out
(`audience_of`), so the state read next is that of the audience only; these
pure functions then decide exactly, and membership is confirmed against the
state read (`is_eligible`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from activation.export.records import ExportContext
from profiles.changes import Audience
from profiles.models import MEMBER_STATUSES

REASON_SEGMENT = "segment"
REASON_IDENTITY = "identity"
REASON_ATTRIBUTE = "attribute"
REASON_BACKFILL = "backfill"
# When several rules fire for one profile, the log names the strongest.
_RANK = {REASON_ATTRIBUTE: 1, REASON_IDENTITY: 2, REASON_SEGMENT: 3}
TRANSITION_STATUSES = frozenset({"realized", "exited"})


class ChangeLike(Protocol):
    """What a decision reads of a change (`profiles.changes.ChangeRow`)."""

    profile_id: int
    written_paths: list[str]
    changed_paths: list[str]
    identities_changed: bool
    membership_changes: dict[str, str]


@dataclass
class Decision:
    """Profiles a chunk of changes may export, with the strongest reason each."""

    reasons: dict[int, str] = field(default_factory=dict)
    # Profiles that entered or left a mapped segment: exported even when no
    # longer members (the "exited" record).
    transitioned: set[int] = field(default_factory=set)

    def add(self, profile_id: int, reason: str) -> None:
        current = self.reasons.get(profile_id)
        if current is None or (current != reason and _RANK[reason] > _RANK[current]):
            self.reasons[profile_id] = reason


def decide(context: ExportContext, changes: Iterable[ChangeLike]) -> Decision:
    """Apply the three rules to a chunk of changes (membership checked later)."""
    decision = Decision()
    mapped_segments = context.segments
    touches_mapping = path_matcher(context.source_paths)
    # Changes of one chunk write the same few paths over and over: match each once.
    touched: dict[str, bool] = {}
    value_changes_only = context.export_only_on_value_change
    for change in changes:
        profile_id = change.profile_id
        if change.membership_changes:
            for segment_id, status in change.membership_changes.items():
                if status in TRANSITION_STATUSES and str(segment_id) in mapped_segments:
                    decision.transitioned.add(profile_id)
                    decision.add(profile_id, REASON_SEGMENT)
        if change.identities_changed:
            decision.add(profile_id, REASON_IDENTITY)
        for path in change.changed_paths if value_changes_only else change.written_paths:
            hit = touched.get(path)
            if hit is None:
                hit = touched[path] = touches_mapping(path)
            if hit:
                decision.add(profile_id, REASON_ATTRIBUTE)
                break
    return decision


def audience_of(context: ExportContext) -> Audience:
    """The changes these rules can export, as the change reader filters them in SQL."""
    return Audience(
        segment_ids=tuple(context.segments),
        paths=tuple(sorted(context.source_paths)),
        values_only=context.export_only_on_value_change,
    )


def is_eligible(
    profile_id: int, decision: Decision, memberships: dict[str, tuple[str, Any]] | None
) -> bool:
    """In a mapped segment now, or just entered/left one in these changes."""
    if profile_id in decision.transitioned:
        return True
    return any(status in MEMBER_STATUSES for status, _ in (memberships or {}).values())


def path_matcher(mapped_paths: Iterable[str]) -> Callable[[str], bool]:
    """A predicate: does writing `path` write a mapped attribute?

    True when the written path is a mapped path, lies inside one (`person.name`
    mapped, `person.name.firstName` written) or contains one (`person` written
    as a whole, `person.name.firstName` mapped).
    """
    mapped = frozenset(mapped_paths)
    prefixes = frozenset(
        ".".join(parts[:i])
        for path in mapped
        for parts in [path.split(".")]
        for i in range(1, 1 + len(parts))
    )

    def touches(path: str) -> bool:
        if path in prefixes:
            return True
        parts = path.split(".")
        return any(".".join(parts[:i]) in mapped for i in range(1, len(parts)))

    return touches
