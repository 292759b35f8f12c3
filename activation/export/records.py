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

`_id` (XDM's record identifier, 32 hex digits) names one export of one
profile: the exporter derives it from the dataflow, the profile and what
caused the export (`record_id_for`), so every resend of that export carries
the same `_id` — a retried batch, a timed-out call that may have succeeded,
and the chunk in flight when a worker died, rebuilt by the next run — and a
consumer deduplicates on it. A later export of the same profile (a new change,
a new backfill) has a new `_id`. The review sample gets a random one.

A profile whose record cannot be built (text that is not valid Unicode, a NUL
character, a number JSON cannot represent, anything the builder chokes on)
raises `UnbuildableRecord` with a reason naming the value: the exporter
excludes that profile and goes on with the others.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import functools
import hashlib
import json
import sys
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson
from django.db import Error as DatabaseError
from django.utils import timezone

from core.stored_text import StoredText

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
UNBUILDABLE_CODE = "UnbuildableRecord"
# A suppression record marks every mapped segment with this status.
EXITED = "exited"
# json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# without building an encoder per record: the bytes every record is defined by (see
# _encode for the faster writer of the same bytes). NaN and Infinity are refused:
# they are not JSON, and a consumer's parser would reject the record.
_stdlib_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
# How a NUL character looks in the encoded data (JSON escapes control characters).
_NUL_ESCAPED = b"\\u0000"


class UnbuildableRecord(ValueError):  # noqa: N818 - a verdict on one profile's data
    """This profile's record cannot be built; `reason` says which value and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    # The namespace whose value is the partition key, or None: the profile id.
    key_namespace: str | None = field(init=False)

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
        source = self.partition_key_source
        exported = source and source != PROFILE_ID_SOURCE and self.exports_namespace(source)
        set_(self, "key_namespace", source if exported else None)

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

    def exports_namespace(self, namespace: str) -> bool:
        """Does identityMap carry this namespace (every namespace when none is selected)?"""
        return self.namespaces is None or any(ns == namespace for ns, _ in self.namespaces)

    def needed_namespaces(self) -> set[str] | None:
        """Identity namespaces a record reads, or None for all of them."""
        if self.namespaces is None:
            return None
        # The partition key is one of them or the profile id (key_namespace).
        return {ns for ns, _ in self.namespaces}


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
    """The record for one profile: compact JSON Data and its PartitionKey.

    Raises UnbuildableRecord (and only that) when this profile's data cannot
    make a valid record.
    """
    try:
        return _build(context, snapshot, record_id or new_record_id())
    except UnbuildableRecord:
        raise
    except Exception as exc:
        raise UnbuildableRecord(_unbuildable_reason(context, snapshot, exc)) from exc


def build_suppression_record(
    context: ExportContext, snapshot: ProfileSnapshot, *, record_id: str | None = None
) -> BuiltRecord:
    """The record of a profile that withdrew consent after being exported: its identityMap
    and every mapped segment `exited` (now), no attributes, so the consumer drops it."""
    now = timezone.now()
    exited = {segment_id: (EXITED, now) for segment_id in context.segments}
    return build_record(
        context, replace(snapshot, attributes={}, memberships=exited), record_id=record_id
    )


def _build(context: ExportContext, snapshot: ProfileSnapshot, record_id: str) -> BuiltRecord:
    document: dict[str, Any] = {RECORD_ID_KEY: record_id}
    same_bytes = _put_attributes(document, context, snapshot.attributes)
    document["segmentMembership"] = {"ups": _segment_entries(context, snapshot)}
    document["identityMap"] = _identity_map(context, snapshot.identities)
    data = _encode(document) if same_bytes else _stdlib_encode(document).encode("utf-8")
    key = partition_key_for(context, snapshot)
    if _NUL_ESCAPED in data or "\x00" in key:
        # One scan of the bytes; the rare hit is confirmed value by value (a text
        # may legitimately hold a backslash followed by "u0000").
        problem = _bad_value(document) or _bad_text("the partition key", key)
        if problem:
            raise UnbuildableRecord(_not_exported(problem))
    # Positional: this runs once per exported profile.
    return BuiltRecord(snapshot.profile_id, record_id, data, key, len(data) + _utf8_len(key))


def record_id_for(seed: str, profile_id: int, cause: str) -> str:
    """The `_id` of one export: 32 hex digits from the dataflow (`seed`), the profile
    and what caused the export (a change, a backfill). Deterministic, so a resend
    of the same export, even by another run after a crash, carries the same id."""
    return hashlib.blake2b(f"{seed}|{profile_id}|{cause}".encode(), digest_size=16).hexdigest()


# Why a profile is not exported (RunIssue.reason): stored in English, shown translated.
HUGE_NUMBER = StoredText("a number in it has more than %(digits)s digits")
UNREADABLE = StoredText(
    "The profile's stored data cannot be read (%(why)s). The profile is not exported "
    "until it is corrected; its next change exports it."
)
NOT_BUILT = StoredText(
    "The record cannot be built: %(problem)s. The profile is not exported until it is "
    "corrected; its next change exports it."
)
ITS_IDENTITY = StoredText("its %(namespace)s identity")
THE_KEY = StoredText("the key %(key)s")
NOT_A_JSON_NUMBER = StoredText("%(path)s holds %(value)s, which is not a JSON number")
NOT_JSON = StoredText("%(path)s holds a value JSON cannot represent (%(error)s)")
HOLDS_NUL = StoredText("%(where)s holds a NUL character (U+0000), which is not allowed in text")
HOLDS_SURROGATE = StoredText(
    "%(where)s holds text that is not valid Unicode (a lone surrogate, %(code)s)"
)


def unreadable_reason(exc: Exception) -> str:
    """Why a profile whose stored state cannot even be read (say, a number of more
    digits than Python reads) is not exported."""
    text = printable(str(exc))
    if "integer string conversion" in text:  # Python's guard against huge numbers
        why = HUGE_NUMBER(digits=sys.get_int_max_str_digits())
    else:
        why = f"{type(exc).__name__}: {text[:300]}"
    return UNREADABLE(why=why)


def _not_exported(problem: str) -> str:
    return NOT_BUILT(problem=problem)


def _unbuildable_reason(context: ExportContext, snapshot: ProfileSnapshot, exc: Exception) -> str:
    """Name the value that broke the build when it can be found, else the error."""
    problem = None
    try:
        document: dict[str, Any] = {}
        _put_attributes(document, context, snapshot.attributes)
        problem = _bad_value(document)
        for namespace, value in snapshot.identities:
            if problem:
                break
            if context.exports_namespace(namespace):
                problem = _bad_text(ITS_IDENTITY(namespace=printable(str(namespace))), value)
    except Exception:  # the snapshot itself is malformed: report the original error
        problem = None
    return _not_exported(problem or f"{type(exc).__name__}: {printable(str(exc))}")


def _bad_value(value: Any, path: str = "") -> str | None:
    """The first value under `value` that cannot go into a record, and why."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = printable(f"{path}.{key}" if path else str(key))
            problem = _bad_text(THE_KEY(key=where), key) if isinstance(key, str) else None
            problem = problem or _bad_value(item, where)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _bad_value(item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(value, str):
        return _bad_text(path, value)
    try:
        _stdlib_encode(value)
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(value, float):
            return NOT_A_JSON_NUMBER(path=path, value=repr(value))
        return NOT_JSON(path=path, error=printable(str(exc)))
    return None


def _bad_text(where: str, text: str) -> str | None:
    if "\x00" in text:
        return HOLDS_NUL(where=where)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return HOLDS_SURROGATE(where=where, code=f"U+{code:04X}")
    return None


def printable(text: str) -> str:
    """`text` safe to store and show: lone surrogates and NUL spelled out as escapes."""
    text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def record_for_profile(*, dataflow: Dataflow, profile_id: int) -> BuiltRecord:
    """The record the exporter would send for this profile now (the review sample).

    Raises Profile.DoesNotExist when there is no such profile, UnbuildableRecord
    when the exporter would exclude it.
    """
    from activation.export.selectors import export_context_for, snapshots_for
    from profiles.models import Profile

    context = export_context_for(dataflow)
    try:
        snapshot = snapshots_for(context, [profile_id]).get(profile_id)
    except DatabaseError:
        raise
    except Exception as exc:
        raise UnbuildableRecord(unreadable_reason(exc)) from exc
    if snapshot is None:
        raise Profile.DoesNotExist(f"profile {profile_id} does not exist")
    return build_record(context, snapshot)


def partition_key_for(context: ExportContext, snapshot: ProfileSnapshot) -> str:
    """The chosen identity's first value, else the profile id; always 1-256 characters.

    The key is hashed like identityMap when the namespace is exported hashed (no
    raw email in the stream's metadata), and a value longer than 256 characters
    is replaced by its SHA-256: still stable per profile, still spread evenly.
    A namespace the dataflow does not export never becomes the key (the mapping
    refuses it; an older dataflow that names one is keyed by the profile id).
    """
    source = context.key_namespace
    if source is not None:
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


def _encode(document: dict[str, Any]) -> bytes:
    """The document's bytes, as `_stdlib_encode` writes them, by orjson (several times
    faster). Call it only for a document whose floats `_orjson_same_bytes` accepts;
    orjson refuses what else it would write differently (integers beyond 64 bits,
    lone surrogates), and those documents take the standard library's path, which
    writes them or raises as it always did."""
    try:
        return orjson.dumps(document)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _stdlib_encode(document).encode("utf-8")


def _orjson_same_bytes(value: Any) -> bool:
    """Does orjson write this attribute value byte for byte as the standard library?

    Always, but for floats printed with an exponent (Python writes 1e+16 and 1e-05,
    orjson 1e16 and 1e-5, or 0.00001 in later versions) and NaN or Infinity (orjson
    writes null; a record must refuse them). Python's repr uses an exponent below
    1e-4 and from 1e16 on."""
    cls = value.__class__
    if cls is float:
        number: float = value
        return number == 0.0 or 1e-4 <= abs(number) < 1e16
    if cls is dict:
        return all(_orjson_same_bytes(item) for item in value.values())
    if cls is list:
        return all(_orjson_same_bytes(item) for item in value)
    return True


def _put_attributes(
    document: dict[str, Any], context: ExportContext, attributes: dict[str, Any]
) -> bool:
    """Place the mapped attributes; False when one needs the standard library's encoder
    to keep the record's bytes (see `_orjson_same_bytes`)."""
    same_bytes = True
    # The hot loop of every export: plain lookups, no helper calls per path.
    for source, parents, leaf in context.attribute_plan:
        value: Any = attributes
        try:
            for part in source:
                value = value[part]
        except (KeyError, TypeError, IndexError):
            continue  # not set on this profile: left out
        if value.__class__ in _CHECKED_CLASSES and same_bytes:
            same_bytes = _orjson_same_bytes(value)
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
    return same_bytes


# Attribute values that may hold a float (strings, ints, booleans and null never do).
_CHECKED_CLASSES = (float, dict, list)


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
