"""Profile writes: the one path every profile write takes (API, import, demo data, UI).

``profiles_upsert`` validates each record, then writes all valid records of a
batch in ONE transaction that also

* evaluates every active segment for each written profile (streaming
  segmentation) and applies the membership transitions, and
* inserts one ``ProfileChange`` per written profile: written and changed
  attribute paths, identities added and removed, membership transitions,

so a profile's new state, its memberships and the record of what changed
commit together or not at all. After commit, ``profiles_changed`` is sent.

Matching: a record names identities; the profile owning any of them is
updated, or a new profile is created when none is owned. When the identities
belong to two different profiles the record is rejected as a conflict (never
merged). Records later in a batch see the profiles earlier records created.

Concurrency: profiles are locked (``SELECT ... FOR UPDATE``, in id order) and
their identities re-read under the lock; a concurrent writer that created the
same new identity first makes the unique index fail, and the whole batch is
retried (it then matches that writer's profile).
"""

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.gc_pause import gc_paused
from core.observability.metrics import ingestion_observed
from profiles import bulk
from profiles.attributes import merge
from profiles.models import Identity
from profiles.records import IdentityKey, ProfileRecord, RecordError, parse_record
from profiles.segments import CAPTURED, ActiveSegment, active_segments, membership_transition
from profiles.selectors import namespace_codes
from profiles.signals import send_profiles_changed

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
ATTEMPTS = 5
SOURCES = ("api", "import", "ui", "demo", "admin")


@dataclass
class RecordResult:
    """What happened to one record of a batch."""

    index: int
    status: str  # created | updated | error
    profile_id: int | None = None
    error: RecordError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _RetryError(Exception):
    """The identities read before locking changed; start the batch again."""


def profile_upsert(*, record: Any, source: str) -> RecordResult:
    """Write one record (see profiles_upsert)."""
    return profiles_upsert(records=[record], source=source)[0]


def profiles_upsert(
    *, records: Sequence[Any], source: str, now: dt.datetime | None = None
) -> list[RecordResult]:
    """Validate each record and write every valid one; one result per record, in order."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if len(records) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} records per batch")
    with gc_paused():
        results = _upsert(records, source, now or timezone.now())
    answered = [r for r in results if r is not None]
    rejected = sum(1 for r in answered if not r.ok)
    ingestion_observed(source=source, accepted=len(answered) - rejected, rejected=rejected)
    return answered


def _upsert(records: Sequence[Any], source: str, now: dt.datetime) -> list[RecordResult | None]:
    """Parse every record and write the valid ones: a result per record, in order."""
    namespaces = namespace_codes()
    results: list[RecordResult | None] = [None] * len(records)
    valid: list[tuple[int, ProfileRecord]] = []
    for index, data in enumerate(records):
        parsed = parse_record(data, namespaces=namespaces)
        if isinstance(parsed, RecordError):
            results[index] = RecordResult(index=index, status="error", error=parsed)
        else:
            valid.append((index, parsed))
    if valid:
        for result in _write_with_retries(valid, source, now):
            results[result.index] = result
    return results


def _write_with_retries(
    valid: list[tuple[int, ProfileRecord]], source: str, now: dt.datetime
) -> list[RecordResult]:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _Batch(valid, source, now).write()
        except (_RetryError, IntegrityError, OperationalError) as exc:
            # A concurrent writer created one of our new identities, removed one we
            # matched, or deadlocked with us: everything rolled back; start again.
            if attempt == ATTEMPTS:
                raise
            logger.info("profile batch retry %s after %s", attempt, type(exc).__name__)
    raise AssertionError("unreachable")


@dataclass(eq=False)
class _Target:
    """One profile a batch writes: existing (pk set) or new (pk after insert)."""

    pk: int | None
    attributes: dict
    first_index: int
    created: bool
    added: list[IdentityKey] = field(default_factory=list)
    removed: list[IdentityKey] = field(default_factory=list)
    # Ordered sets (dict keys): a write of n paths costs O(n), never O(n^2).
    written: dict[str, None] = field(default_factory=dict)
    changed: dict[str, None] = field(default_factory=dict)
    membership_changes: dict[str, str] = field(default_factory=dict)


Owner = int | _Target


class _Batch:
    """Resolve records to profiles, apply them, evaluate segments, write everything."""

    def __init__(self, valid: list[tuple[int, ProfileRecord]], source: str, now: dt.datetime):
        self.valid = valid
        self.source = source
        self.now = now
        self.results: list[RecordResult] = []
        self.targets: list[_Target] = []
        self.by_pk: dict[int, _Target] = {}

    def write(self) -> list[RecordResult]:
        keys = {k for _, r in self.valid for k in (*r.identities, *r.removals)}
        db_owner = _owners(keys)
        self._resolve(db_owner)
        current = self._lock_existing()
        # Identities we matched may have been removed before we got the locks (a
        # concurrent new identity makes our insert fail instead, and we retry).
        if db_owner and _owners(set(db_owner)) != db_owner:
            raise _RetryError
        for target in self.targets:
            if target.pk is not None:
                target.attributes = current[target.pk]
        self._apply_patches()
        self._evaluate_segments()
        self._save(db_owner)
        return self.results

    # -- resolution (no writes) --

    def _resolve(self, db_owner: dict[IdentityKey, int]) -> None:
        owner: dict[IdentityKey, Owner] = dict(db_owner)
        self.patches: dict[int, list[dict]] = {}
        self.target_of: dict[int, _Target] = {}
        for index, record in self.valid:
            owners = {owner[k] for k in record.identities if k in owner}
            if len(owners) > 1:
                self.results.append(_conflict(index, record, owner))
                continue
            found = owners.pop() if owners else None
            misplaced = [k for k in record.removals if k in owner and owner[k] != found]
            if misplaced:
                self.results.append(_foreign_removal(index, misplaced[0], owner[misplaced[0]]))
                continue
            target = self._target_for(found, index)
            self.target_of[index] = target
            self.patches.setdefault(id(target), []).append(record.attributes)
            ref: Owner = target.pk if target.pk is not None else target
            for key in record.identities:
                if key not in owner:
                    owner[key] = ref
                    target.added.append(key)
            for key in record.removals:
                if key in owner:
                    del owner[key]
                    target.removed.append(key)
            status = "created" if target.created and target.first_index == index else "updated"
            self.results.append(RecordResult(index=index, status=status, error=None))
        self.final_owner = owner

    def _target_for(self, found: Owner | None, index: int) -> _Target:
        if isinstance(found, _Target):
            return found
        if found is None:
            target = _Target(pk=None, attributes={}, first_index=index, created=True)
        elif found in self.by_pk:
            return self.by_pk[found]
        else:
            target = _Target(pk=found, attributes={}, first_index=index, created=False)
            self.by_pk[found] = target
        self.targets.append(target)
        return target

    def _lock_existing(self) -> dict[int, dict]:
        rows = bulk.profiles_lock(list(self.by_pk))
        if len(rows) != len(self.by_pk):
            raise _RetryError  # a profile was deleted meanwhile
        return rows

    # -- computing the new state --

    def _apply_patches(self) -> None:
        for target in self.targets:
            for patch in self.patches[id(target)]:
                merged = merge(target.attributes, patch)
                target.attributes = merged.document
                target.written.update(dict.fromkeys(merged.written))
                target.changed.update(dict.fromkeys(merged.changed))

    def _evaluate_segments(self) -> None:
        self.segments: list[ActiveSegment] = active_segments(today=self.now.date())
        self.membership_creates: list[tuple[_Target, str, str]] = []
        self.membership_updates: list[tuple[int, str, dt.datetime]] = []
        if not self.segments:
            return
        current: dict[tuple[int, str], tuple[int, str, dt.datetime]] = {}
        if self.by_pk:
            rows = bulk.memberships_of(list(self.by_pk), [s.id for s in self.segments])
            for mid, pk, sid, status, qualified in rows:
                current[(pk, sid)] = (mid, status, qualified)
        for target in self.targets:
            for segment in self.segments:
                existing = current.get((target.pk, segment.id)) if target.pk else None
                new = membership_transition(
                    existing[1] if existing else None, segment.predicate(target.attributes)
                )
                if new is None:
                    continue
                if new in CAPTURED:
                    target.membership_changes[segment.id] = new
                if existing is None:
                    self.membership_creates.append((target, segment.id, new))
                else:
                    # lastQualificationTime moves on entering and on leaving only.
                    qualified = self.now if new in CAPTURED else existing[2]
                    self.membership_updates.append((existing[0], new, qualified))

    # -- writing --

    def _save(self, db_owner: dict[IdentityKey, int]) -> None:
        new = [t for t in self.targets if t.pk is None]
        pks = bulk.profiles_insert([t.attributes for t in new], now=self.now)
        for target, pk in zip(new, pks, strict=True):
            target.pk = pk
        bulk.profiles_update(
            [(t.pk, t.attributes) for t in self.targets if not t.created], now=self.now
        )
        self._save_identities(db_owner)
        if self.segments:
            bulk.memberships_insert(
                [(t.pk, sid, status) for t, sid, status in self.membership_creates], now=self.now
            )
            bulk.memberships_update(self.membership_updates, now=self.now)
        bulk.changes_insert(
            [row for row in (self._change_row(t) for t in self.targets) if row], now=self.now
        )
        for result in self.results:
            if result.ok:
                result.profile_id = self.target_of[result.index].pk
        send_profiles_changed([t.pk for t in self.targets])

    def _save_identities(self, db_owner: dict[IdentityKey, int]) -> None:
        inserts: list[tuple[int, str, str]] = []
        deletes: list[IdentityKey] = []
        for target in self.targets:
            ref: Owner = target if target.created else target.pk
            # Net effect of the batch: an identity added then removed again is neither.
            target.added = [k for k in target.added if self.final_owner.get(k) == ref]
            target.removed = [
                k
                for k in target.removed
                if db_owner.get(k) == target.pk and k not in self.final_owner
            ]
            inserts.extend((target.pk, ns, v) for ns, v in target.added)
            deletes.extend(target.removed)
        if deletes:
            Identity.objects.filter(_identity_q(deletes)).delete()
        bulk.identities_insert(inserts, now=self.now)

    def _change_row(self, target: _Target) -> bulk.ChangeRow | None:
        if not (target.written or target.added or target.removed or target.membership_changes):
            return None
        return (
            target.pk,
            list(target.written),
            list(target.changed),
            [{"namespace": ns, "id": v} for ns, v in target.added],
            [{"namespace": ns, "id": v} for ns, v in target.removed],
            target.membership_changes,
            self.source,
        )


def _identity_q(keys: Sequence[IdentityKey]) -> Q:
    by_namespace: dict[str, list[str]] = {}
    for namespace, value in keys:
        by_namespace.setdefault(namespace, []).append(value)
    return reduce(or_, (Q(namespace=ns, value__in=vs) for ns, vs in by_namespace.items()))


def _owners(keys: set[IdentityKey]) -> dict[IdentityKey, int]:
    return bulk.identity_owners(sorted(keys))


def _describe(owner: Owner) -> str:
    if isinstance(owner, _Target):
        return gettext("the profile created by record %(index)s of this batch") % {
            "index": owner.first_index
        }
    return gettext("profile %(id)s") % {"id": owner}


def _conflict(index: int, record: ProfileRecord, owner: dict[IdentityKey, Owner]) -> RecordResult:
    fields: dict[str, str] = {}
    seen: list[Owner] = []
    for ns, v in record.identities:
        if (ns, v) in owner:
            fields[f"identityMap.{ns}"] = gettext("%(identity)s belongs to %(owner)s") % {
                "identity": f"{ns}:{v}",
                "owner": _describe(owner[(ns, v)]),
            }
            if owner[(ns, v)] not in seen:
                seen.append(owner[(ns, v)])
    owners = " %s " % gettext("and")  # noqa: UP031 - a msgid must not sit in an f-string
    owners = owners.join(_describe(o) for o in seen)
    message = gettext(
        "The identities match different profiles (%(owners)s); they are not merged."
    ) % {"owners": owners}
    return RecordResult(
        index=index, status="error", error=RecordError("identity_conflict", message, fields)
    )


def _foreign_removal(index: int, key: IdentityKey, owner: Owner) -> RecordResult:
    ns, value = key
    message = gettext(
        "%(identity)s belongs to %(owner)s, not to the profile this record matches."
    ) % {"identity": f"{ns}:{value}", "owner": _describe(owner)}
    return RecordResult(
        index=index,
        status="error",
        error=RecordError("identity_conflict", message, {f"identityMap.{ns}": message}),
    )
