"""Kinesis records: the one builder that both the review step and the exporter use.

`build_record` is pure: it turns a dataflow's `ExportContext` and one profile's
`ProfileSnapshot` into the exact bytes sent as a record's Data and its
PartitionKey. `record_for_profile` loads both from the database for one
profile (the wizard's review sample); the exporter loads them in bulk
(`activation.export.selectors`) and calls the same builder.

Record format (SPEC §3), compact JSON in UTF-8::

    {"_id": "<record id>",
     <mapped attributes, nested, at their target paths>,
     "segmentMembership": {"ups": {"<segment id>": {"lastQualificationTime": "...Z",
                                                    "status": "realized|existing|exited",
                                                    ["name"], [createdAt, updatedAt,
                                                    mappingCreatedAt, mappingUpdatedAt]}}},
     "identityMap": {"<namespace>": [{"id": "..."}], "<ns>_lc_sha256": [{"id": "<hex>"}]}}

`_id` (XDM's record identifier) is a fresh random id per built record. Every
resend of that record (a retried batch, a timed-out call that may have
succeeded) carries the same bytes, so a consumer deduplicates on `_id`; a
later export of the same profile is a new record with a new `_id`.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from activation.models import Dataflow

RECORD_ID_KEY = "_id"
# Keys the builder owns at the top level; a mapping cannot target them.
RESERVED_KEYS = (RECORD_ID_KEY, "segmentMembership", "identityMap")
PROFILE_ID_SOURCE = "profile_id"
MAX_PARTITION_KEY_CHARS = 256
# Kinesis: a record's data plus its partition key (UTF-8 bytes) at most 1 MiB.
MAX_RECORD_BYTES = 1024 * 1024
HASH_SUFFIX = "_lc_sha256"
# json.dumps(document, ensure_ascii=False, separators=(",", ":")) without building
# an encoder per record: the same bytes.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What a mapped segment contributes to `segmentMembership.ups` entries."""

    name: str
    created_ms: int
    updated_ms: int
    mapping_created_ms: int
    mapping_updated_ms: int


@dataclass(frozen=True)
class ExportContext:
    """A dataflow's mapping, frozen for one run (or one sample)."""

    dataflow_id: int
    # (source path parts, target path parts), in mapping order.
    attributes: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    # (namespace, hashed) in order; None exports every namespace unhashed.
    namespaces: tuple[tuple[str, bool], ...] | None
    # Mapped segments keyed by the segment id as text.
    segments: dict[str, SegmentInfo]
    include_names: bool = False
    include_timestamps: bool = False
    partition_key_source: str = PROFILE_ID_SOURCE
    export_only_on_value_change: bool = False
    source_paths: frozenset[str] = field(init=False)
    # The mappings a record can hold (none targets a builder-owned key).
    placeable: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = field(init=False)
    hashed_namespaces: frozenset[str] = field(init=False)
    # Per mapped segment, the entry keys that are the same in every record
    # (name, timestamps), in record order after lastQualificationTime and status.
    segment_extras: dict[str, dict[str, Any]] = field(init=False)
    # placeable, split once: (source parts, target parents, target leaf).
    attribute_plan: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = field(init=False)
    # namespaces, decided once: (namespace, identityMap key, hashed).
    identity_plan: tuple[tuple[str, str, bool], ...] | None = field(init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "source_paths", frozenset(".".join(src) for src, _ in self.attributes))
        set_(
            self,
            "placeable",
            tuple((s, t) for s, t in self.attributes if s and t and t[0] not in RESERVED_KEYS),
        )
        set_(self, "hashed_namespaces", frozenset(ns for ns, h in self.namespaces or () if h))
        set_(
            self,
            "segment_extras",
            {sid: self._segment_extra(i) for sid, i in self.segments.items()},
        )
        set_(self, "attribute_plan", tuple((s, t[:-1], t[-1]) for s, t in self.placeable))
        set_(
            self,
            "identity_plan",
            None
            if self.namespaces is None
            else tuple((ns, ns + HASH_SUFFIX if h else ns, h) for ns, h in self.namespaces),
        )

    def _segment_extra(self, info: SegmentInfo) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.include_names:
            extra["name"] = info.name
        if self.include_timestamps:
            extra["createdAt"] = info.created_ms
            extra["updatedAt"] = info.updated_ms
            extra["mappingCreatedAt"] = info.mapping_created_ms
            extra["mappingUpdatedAt"] = info.mapping_updated_ms
        return extra

    def hashed(self, namespace: str) -> bool:
        return namespace in self.hashed_namespaces

    def needed_namespaces(self) -> set[str] | None:
        """Identity namespaces a record reads, or None for all of them."""
        if self.namespaces is None:
            return None
        needed = {ns for ns, _ in self.namespaces}
        if self.partition_key_source != PROFILE_ID_SOURCE:
            needed.add(self.partition_key_source)
        return needed


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """One profile's current state, as far as a dataflow exports it."""

    profile_id: int
    attributes: dict[str, Any]
    # (namespace, value) in the order identities were added.
    identities: list[tuple[str, str]]
    # Memberships of mapped segments only: segment id -> (status, last qualification).
    memberships: dict[str, tuple[str, dt.datetime]]


@dataclass(frozen=True, slots=True)
class BuiltRecord:
    """Exactly what is sent: Data bytes, PartitionKey, and their combined size."""

    profile_id: int
    record_id: str
    data: bytes
    partition_key: str
    size_bytes: int

    @property
    def too_large(self) -> bool:
        return self.size_bytes > MAX_RECORD_BYTES

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


def build_record(
    context: ExportContext, snapshot: ProfileSnapshot, *, record_id: str | None = None
) -> BuiltRecord:
    """The record for one profile: compact JSON Data and its PartitionKey."""
    record_id = record_id or new_record_id()
    document: dict[str, Any] = {RECORD_ID_KEY: record_id}
    _put_attributes(document, context, snapshot.attributes)
    document["segmentMembership"] = {"ups": _segment_entries(context, snapshot)}
    document["identityMap"] = _identity_map(context, snapshot.identities)
    data = _encode(document).encode("utf-8")
    key = partition_key_for(context, snapshot)
    # Positional: this runs once per exported profile.
    return BuiltRecord(snapshot.profile_id, record_id, data, key, len(data) + _utf8_len(key))


def record_for_profile(*, dataflow: Dataflow, profile_id: int) -> BuiltRecord:
    """The record the exporter would send for this profile now (the review sample).

    Raises Profile.DoesNotExist when there is no such profile.
    """
    from activation.export.selectors import export_context_for, snapshots_for
    from profiles.models import Profile

    context = export_context_for(dataflow)
    snapshot = snapshots_for(context, [profile_id]).get(profile_id)
    if snapshot is None:
        raise Profile.DoesNotExist(f"profile {profile_id} does not exist")
    return build_record(context, snapshot)


def partition_key_for(context: ExportContext, snapshot: ProfileSnapshot) -> str:
    """The chosen identity's first value, else the profile id; always 1-256 characters.

    The key is hashed like identityMap when the namespace is exported hashed (no
    raw email in the stream's metadata), and a value longer than 256 characters
    is replaced by its SHA-256: still stable per profile, still spread evenly.
    """
    source = context.partition_key_source
    if source and source != PROFILE_ID_SOURCE:
        value = ""
        for namespace, candidate in snapshot.identities:
            if namespace == source and candidate:
                value = candidate
                break
        if value:
            if context.hashed(source):
                value = hash_identity(value)
            if len(value) > MAX_PARTITION_KEY_CHARS:
                value = hashlib.sha256(value.encode("utf-8")).hexdigest()
            return value
    return str(snapshot.profile_id)


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def new_record_id() -> str:
    """A random UUID4 as 32 hex digits."""
    return uuid.uuid4().hex


def hash_identity(value: str) -> str:
    """Lower-case, then SHA-256 as hex (the `<namespace>_lc_sha256` convention)."""
    return hashlib.sha256(value.lower().encode("utf-8")).hexdigest()


# Profiles written in one batch share their qualification time: format each once.
@functools.lru_cache(maxsize=4096)
def iso_utc(moment: dt.datetime) -> str:
    """2020-05-25T21:24:39Z."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return calendar.timegm(moment.utctimetuple()) * 1000 + moment.microsecond // 1000


def _put_attributes(
    document: dict[str, Any], context: ExportContext, attributes: dict[str, Any]
) -> None:
    # The hot loop of every export: plain lookups, no helper calls per path.
    for source, parents, leaf in context.attribute_plan:
        value: Any = attributes
        try:
            for part in source:
                value = value[part]
        except (KeyError, TypeError, IndexError):
            continue  # not set on this profile: left out
        node = document
        for part in parents:
            child = node.get(part)
            if child.__class__ is not dict:
                child = node[part] = {}
            node = child
        if value.__class__ is dict and node.get(leaf).__class__ is dict:
            # Two mappings into one object (`person` and `person.name.firstName`) merge.
            node[leaf] = _merged(node[leaf], value)
        elif value.__class__ in (dict, list):
            node[leaf] = copy.deepcopy(value)
        else:
            node[leaf] = value


def _merged(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    result = dict(into)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _segment_entries(context: ExportContext, snapshot: ProfileSnapshot) -> dict[str, Any]:
    ups: dict[str, Any] = {}
    extras = context.segment_extras
    for segment_id, (status, qualified_at) in snapshot.memberships.items():
        extra = extras.get(segment_id)
        if extra is None:
            continue
        entry: dict[str, Any] = {"lastQualificationTime": iso_utc(qualified_at), "status": status}
        if extra:
            entry.update(extra)
        ups[segment_id] = entry
    return ups


def _identity_map(
    context: ExportContext, identities: list[tuple[str, str]]
) -> dict[str, list[dict[str, str]]]:
    identity_map: dict[str, list[dict[str, str]]] = {}
    plan = context.identity_plan
    if plan is None:
        for namespace, value in identities:
            identity_map.setdefault(namespace, []).append({"id": value})
        return identity_map
    for namespace, key, hashed in plan:
        if hashed:
            values = [{"id": hash_identity(v)} for ns, v in identities if ns == namespace]
        else:
            values = [{"id": v} for ns, v in identities if ns == namespace]
        if values:
            identity_map[key] = values
    return identity_map
