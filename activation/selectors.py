"""Reads for the activation wizard: segments with sizes, the profile schema,
sample members, coverage and the stream's capacity.

Everything that looks at profile data samples it (a bounded number of rows
spread over the id range) instead of scanning the store, so these stay fast
with a million profiles.
"""

import datetime as dt
import json
import re
import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext

from activation.models import (
    Dataflow,
    DataflowQuerySet,
    DataflowSegment,
    EditHandover,
    EditHandoverAction,
)
from destinations.models import Connection
from profiles.attributes import get_path, leaf_items
from profiles.models import (
    MEMBER_STATUSES,
    Identity,
    IdentityNamespace,
    Profile,
    Segment,
    SegmentMembership,
)
from profiles.selectors import segment_sizes

SCHEMA_SAMPLE_SIZE = 1000
MEMBER_SAMPLE_SIZE = 500
SAMPLE_WINDOWS = 10
SCHEMA_CACHE_SECONDS = 60
MIB = 1024 * 1024
# Kinesis per-shard write limits, and an on-demand stream's starting capacity.
SHARD_RECORDS_PER_SECOND = 1000
SHARD_BYTES_PER_SECOND = MIB
ON_DEMAND_RECORDS_PER_SECOND = 4000
ON_DEMAND_BYTES_PER_SECOND = 4 * MIB


# --- dataflows and connections ------------------------------------------------


def dataflows_for_user(*, user: Any) -> DataflowQuerySet:
    """Dataflows a user may open: every finished one in the workspace, and their own drafts.

    The workspace is shared: roles (core.roles), not ownership, decide who may change what.
    """
    return Dataflow.objects.live() | Dataflow.objects.drafts().filter(created_by=user)


def drafts_for_user(*, user: Any, connection: Connection | None = None) -> QuerySet[Dataflow]:
    """Unfinished wizards (new dataflows and edits of live ones), most recent first."""
    drafts = (
        dataflows_for_user(user=user)
        .drafts()
        .select_related("connection", "edit_of", "created_by")
        .annotate(segment_count=Count("mapped_segments", distinct=True))
        .order_by("-updated_at")
    )
    if connection is not None:
        drafts = drafts.filter(connection=connection)
    return drafts


def connections_for_user(*, user: Any) -> QuerySet[Connection]:
    """Every connection of the (shared) workspace."""
    return Connection.objects.order_by("name")


# --- segments -------------------------------------------------------------------


@dataclass
class SegmentRow:
    segment: Segment
    size: int
    selected: bool


def dataflows_exporting(*, segment_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Dataflow]]:
    """The finished dataflows that export each segment, by name (drafts and edit copies
    export nothing; a disabled one sends the changes made meanwhile on re-enable)."""
    ids = list(segment_ids)
    found: dict[uuid.UUID, list[Dataflow]] = {segment_id: [] for segment_id in ids}
    if not ids:
        return found
    rows = (
        DataflowSegment.objects.filter(segment_id__in=ids)
        .filter(DataflowQuerySet.live_q("dataflow__"))
        .select_related("dataflow")
        .order_by("dataflow__name", "dataflow_id")
    )
    for row in rows:
        found[row.segment_id].append(row.dataflow)
    return found


def selected_segment_ids(*, dataflow: Dataflow) -> set[uuid.UUID]:
    return set(dataflow.mapped_segments.values_list("segment_id", flat=True))


def segment_page(
    *, dataflow: Dataflow, query: str = "", page: Any = 1, per_page: int = 25
) -> tuple[Page, list[SegmentRow]]:
    """One page of segments matching `query` (name or description), with sizes."""
    segments = Segment.objects.order_by("name", "id")
    query = query.strip()
    if query:
        segments = segments.filter(Q(name__icontains=query) | Q(description__icontains=query))
    page_obj = Paginator(segments, per_page).get_page(page)
    chosen = selected_segment_ids(dataflow=dataflow)
    sizes = segment_sizes(segment_ids=[s.id for s in page_obj.object_list])
    rows = [SegmentRow(s, sizes[s.id], s.id in chosen) for s in page_obj.object_list]
    return page_obj, rows


def mapped_segment_rows(*, dataflow: Dataflow) -> list[SegmentRow]:
    segments = list(Segment.objects.filter(dataflows=dataflow).order_by("name", "id"))
    sizes = segment_sizes(segment_ids=[s.id for s in segments])
    return [SegmentRow(s, sizes[s.id], True) for s in segments]


def distinct_member_count(*, segment_ids: Iterable[uuid.UUID]) -> int:
    """Profiles that are current members of at least one of the segments."""
    ids = list(segment_ids)
    if not ids:
        return 0
    return (
        SegmentMembership.objects.filter(segment_id__in=ids, status__in=MEMBER_STATUSES)
        .values("profile_id")
        .distinct()
        .count()
    )


# --- sampling profile data --------------------------------------------------------


def _spread_sample(rows: QuerySet, *, column: str, size: int) -> list[int]:
    """Up to `size` values of an integer column, from windows spread over its range.

    Each window takes the first rows at or above its start without sorting
    them, so a window costs one short index range scan even on a segment with
    millions of members.
    """
    bounds = rows.aggregate(lo=Min(column), hi=Max(column))
    low, high = bounds["lo"], bounds["hi"]
    if low is None:
        return []
    span = high - low + 1
    windows = 1 if span <= size else SAMPLE_WINDOWS
    per_window = max(1, size // windows)
    found: set[int] = set()
    for window in range(windows):
        start = low + span * window // windows
        found.update(
            rows.filter(**{f"{column}__gte": start}).values_list(column, flat=True)[:per_window]
        )
    return sorted(found)


def sample_profile_ids(*, size: int = SCHEMA_SAMPLE_SIZE) -> list[int]:
    return _spread_sample(Profile.objects.order_by(), column="id", size=size)


def sample_member_ids(*, dataflow: Dataflow, size: int = MEMBER_SAMPLE_SIZE) -> list[int]:
    memberships = SegmentMembership.objects.filter(
        segment_id__in=list(selected_segment_ids(dataflow=dataflow)), status__in=MEMBER_STATUSES
    ).order_by()
    return _spread_sample(memberships, column="profile_id", size=size)


def _attributes_of(profile_ids: list[int]) -> list[dict]:
    if not profile_ids:
        return []
    return list(Profile.objects.filter(id__in=profile_ids).values_list("attributes", flat=True))


# --- the profile schema (for the mapping step's picker) -------------------------------

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass
class SchemaPath:
    path: str
    type: str
    examples: list[str]
    count: int
    coverage: float

    @property
    def coverage_percent(self) -> int:
        return round(self.coverage * 100)


def value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        if DATE_RE.match(value):
            return "date"
        if DATETIME_RE.match(value):
            return "datetime"
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _example(value: Any) -> str:
    # Shown as the record will carry it (true, not Python's True).
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


def schema_from_documents(documents: list[dict]) -> list[SchemaPath]:
    types: dict[str, Counter] = {}
    examples: dict[str, list[str]] = {}
    for document in documents:
        for keys, value in leaf_items(document if isinstance(document, dict) else {}):
            path = ".".join(keys)
            types.setdefault(path, Counter())[value_type(value)] += 1
            shown = examples.setdefault(path, [])
            if value is not None and len(shown) < 3:
                text = _example(value)
                if text not in shown:
                    shown.append(text)
    total = max(1, len(documents))
    schema = []
    for path, counter in types.items():
        non_null = [(t, n) for t, n in counter.most_common() if t != "null"]
        kind = non_null[0][0] if non_null else "null"
        present = sum(n for t, n in counter.items() if t != "null")
        schema.append(SchemaPath(path, kind, examples[path], present, present / total))
    return sorted(schema, key=lambda item: item.path)


def profile_schema(*, sample_size: int = SCHEMA_SAMPLE_SIZE) -> list[SchemaPath]:
    """Attribute paths present in (a sample of) profile data, with types and examples."""
    key = f"activation:profile-schema:{sample_size}"
    schema = cache.get(key)
    if schema is None:
        schema = schema_from_documents(_attributes_of(sample_profile_ids(size=sample_size)))
        cache.set(key, schema, SCHEMA_CACHE_SECONDS)
    return schema


def search_schema(schema: list[SchemaPath], query: str) -> list[SchemaPath]:
    query = query.strip().lower()
    if not query:
        return schema
    return [item for item in schema if query in item.path.lower()]


# --- identities -------------------------------------------------------------------------


def identity_namespaces(*, sample_size: int = SCHEMA_SAMPLE_SIZE) -> list[str]:
    """Registered namespaces plus any seen on sampled profiles (never a full scan)."""
    key = f"activation:sampled-namespaces:{sample_size}"
    seen = cache.get(key)
    if seen is None:
        profile_ids = sample_profile_ids(size=sample_size)
        seen = sorted(
            Identity.objects.filter(profile_id__in=profile_ids)
            .values_list("namespace", flat=True)
            .distinct()
        )
        cache.set(key, seen, SCHEMA_CACHE_SECONDS)
    return sorted(set(IdentityNamespace.objects.values_list("code", flat=True)) | set(seen))


def namespace_coverage(*, dataflow: Dataflow) -> dict[str, float]:
    """Share of sampled current members of the mapped segments having each namespace."""
    member_ids = sample_member_ids(dataflow=dataflow)
    if not member_ids:
        return {}
    rows = (
        Identity.objects.filter(profile_id__in=member_ids)
        .values("namespace")
        .annotate(profiles=Count("profile_id", distinct=True))
    )
    return {row["namespace"]: row["profiles"] / len(member_ids) for row in rows}


# A stable, non-personal identifier first; contact details last.
PARTITION_KEY_PREFERENCE = ["ecid", "crmid", "email", "phone"]


def default_partition_key(
    *,
    dataflow: Dataflow,
    coverage: dict[str, float] | None = None,
    exported: Collection[str] = (),
) -> str:
    """The most stable namespace every sampled member has, else the profile id.

    Only among the `exported` namespaces when some are chosen (a key must be an
    identity the record carries: activation.services.partition_key_error).
    """
    if coverage is None:
        coverage = namespace_coverage(dataflow=dataflow)
    complete = [
        ns for ns, share in coverage.items() if share >= 1.0 and (not exported or ns in exported)
    ]
    for namespace in PARTITION_KEY_PREFERENCE:
        if namespace in complete:
            return namespace
    return sorted(complete)[0] if complete else "profile_id"


# --- review -----------------------------------------------------------------------------


def attribute_coverage(*, dataflow: Dataflow) -> dict[str, float]:
    """Share of sampled current members having each mapped source path."""
    paths = list(dataflow.attribute_mappings.values_list("source_path", flat=True))
    documents = _attributes_of(sample_member_ids(dataflow=dataflow))
    if not documents:
        return {}
    present: Counter = Counter()
    for document in documents:
        for path in paths:
            if get_path(document, path.split(".")) is not None:
                present[path] += 1
    return {path: present[path] / len(documents) for path in paths}


def sample_member_id(*, dataflow: Dataflow, after: int | None = None) -> int | None:
    """A current member of a mapped segment: the first after `after`, wrapping around."""
    members = (
        SegmentMembership.objects.filter(segment__dataflows=dataflow, status__in=MEMBER_STATUSES)
        .order_by("profile_id")
        .values_list("profile_id", flat=True)
    )
    if after is not None:
        following = members.filter(profile_id__gt=after).first()
        if following is not None:
            return following
    return members.first()


def is_member(*, dataflow: Dataflow, profile_id: int) -> bool:
    return SegmentMembership.objects.filter(
        segment__dataflows=dataflow, profile_id=profile_id, status__in=MEMBER_STATUSES
    ).exists()


@dataclass
class Capacity:
    """A stream's write capacity and how long exporting `records` takes at that rate."""

    mode: str = ""
    shard_count: int | None = None
    records_per_second: int = 0
    bytes_per_second: int = 0
    records: int = 0
    record_bytes: int = 0
    error: str = ""
    notes: list[str] = field(default_factory=list)
    # The stream's largest record (MaxRecordSizeInKiB; Kinesis' default when unknown).
    max_record_bytes: int = MIB

    @property
    def max_record_kib(self) -> int:
        return self.max_record_bytes // 1024

    @property
    def size_warning(self) -> str:
        """The sample record against this stream's own record size limit."""
        from activation.export.batching import record_limit

        limit = record_limit(self.max_record_bytes)
        if self.record_bytes > limit:
            return gettext(
                "The sample record is %(size)s bytes, over this stream's "
                "%(limit)s-byte record limit: such profiles are excluded from the export. "
                "Map fewer or smaller attributes."
            ) % {"size": _grouped(self.record_bytes), "limit": _grouped(limit)}
        if self.record_bytes > limit * 0.9:
            return gettext(
                "The sample record is %(size)s bytes, close to this stream's "
                "%(limit)s-byte record limit: larger profiles would be excluded."
            ) % {"size": _grouped(self.record_bytes), "limit": _grouped(limit)}
        return ""

    @property
    def backfill_seconds(self) -> float:
        if not self.records_per_second:
            return 0.0
        by_count = self.records / self.records_per_second
        by_bytes = self.records * self.record_bytes / self.bytes_per_second
        return max(by_count, by_bytes)

    @property
    def mib_per_second(self) -> str:
        return f"{self.bytes_per_second / MIB:g}"

    @property
    def backfill_duration(self) -> str:
        return humanize_seconds(self.backfill_seconds)


def humanize_seconds(seconds: float) -> str:
    if seconds < 1:
        return gettext("under a second")
    delta = dt.timedelta(seconds=round(seconds))
    hours, rest = divmod(delta.total_seconds(), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{int(hours)} h")
    if minutes:
        parts.append(f"{int(minutes)} min")
    if secs and not hours:
        parts.append(f"{int(secs)} s")
    return " ".join(parts)


def capacity_for(
    *, mode: str, shard_count: int | None, records: int, record_bytes: int
) -> Capacity:
    if mode == "ON_DEMAND":
        rate, byte_rate = ON_DEMAND_RECORDS_PER_SECOND, ON_DEMAND_BYTES_PER_SECOND
    else:
        shards = shard_count or 0
        rate, byte_rate = shards * SHARD_RECORDS_PER_SECOND, shards * SHARD_BYTES_PER_SECOND
    return Capacity(
        mode=mode,
        shard_count=shard_count,
        records_per_second=rate,
        bytes_per_second=byte_rate,
        records=records,
        record_bytes=record_bytes,
    )


def stream_capacity(*, connection: Connection, records: int, record_bytes: int) -> Capacity:
    """Ask the stream for its mode and shards (DescribeStreamSummary); errors become text."""
    from destinations.kinesis.aws import (
        KinesisError,
        credentials_for,
        describe_stream_summary,
    )

    try:
        summary = describe_stream_summary(credentials_for(connection), connection.stream_name)
    except KinesisError as error:
        return Capacity(records=records, record_bytes=record_bytes, error=str(error))
    capacity = capacity_for(
        mode=summary.mode,
        shard_count=summary.shard_count,
        records=records,
        record_bytes=record_bytes,
    )
    capacity.max_record_bytes = summary.max_record_bytes
    return capacity


# --- who is editing a live dataflow ---------------------------------------------------


@dataclass(frozen=True)
class EditLock:
    """An unfinished edit of a live dataflow: one per dataflow, held by its editor."""

    draft: Dataflow
    editor: Any
    since: dt.datetime
    last_change: dt.datetime

    @property
    def editor_name(self) -> str:
        return self.editor.get_full_name() or self.editor.get_username()


def edit_lock_of_draft(*, draft: Dataflow) -> EditLock:
    """Who holds the edit copy `draft` and since when (a take-over restarts the clock)."""
    taken_over = (
        EditHandover.objects.filter(
            draft_id=draft.pk, action=EditHandoverAction.TAKEN_OVER, by_id=draft.created_by_id
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return EditLock(
        draft=draft,
        editor=draft.created_by,
        since=taken_over or draft.created_at,
        last_change=draft.updated_at,
    )


def edit_lock(*, dataflow: Dataflow) -> EditLock | None:
    """The unfinished edit of the live `dataflow`, if someone is editing it."""
    draft = dataflow.edit_drafts.select_related("created_by", "edit_of").first()
    return None if draft is None else edit_lock_of_draft(draft=draft)


def someone_elses_edit(*, pk: int, user: Any) -> EditLock | None:
    """The edit copy `pk` when it belongs to another user (its URL reached someone else)."""
    draft = (
        Dataflow.objects.edit_copies()
        .filter(pk=pk)
        .exclude(created_by=user)
        .select_related("created_by", "edit_of")
        .first()
    )
    return None if draft is None else edit_lock_of_draft(draft=draft)


def edit_handover_of_draft(*, draft_id: int, user: Any) -> EditHandover | None:
    """What became of `user`'s edit copy `draft_id` when someone else took it or discarded it."""
    return (
        EditHandover.objects.filter(draft_id=draft_id, previous_editor=user)
        .select_related("by", "dataflow")
        .order_by("-at")
        .first()
    )


def edit_handovers_waiting(*, user: Any) -> bool:
    """Whether notices about `user`'s edits wait to be shown (one indexed query)."""
    return EditHandover.objects.filter(previous_editor=user, seen_at=None).exists()


def _grouped(number: int) -> str:
    """1,234 in English, 1 234 in Swedish."""
    return number_format(number, force_grouping=True)
