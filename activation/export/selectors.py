"""Reads the exporter needs: a dataflow's mapping and profiles' current state, in bulk.

Every loader takes a list of profile ids and answers with a few queries
(values_list, no model instances), so a run's cost follows the number of
changed profiles, never the size of the store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import Q

from activation.export.records import ExportContext, ProfileSnapshot, SegmentInfo, unix_ms
from activation.models import AttributeMapping, Dataflow, DataflowSegment, IdentitySelection
from profiles.models import MEMBER_STATUSES, Identity, MembershipStatus, Profile, SegmentMembership

_PROFILES = Profile._meta.db_table
_IDENTITIES = Identity._meta.db_table
_MEMBERSHIPS = SegmentMembership._meta.db_table


def export_context_for(dataflow: Dataflow) -> ExportContext:
    """The dataflow's mapping, segments and toggles, frozen for one run."""
    attributes = tuple(
        (tuple(source.split(".")), tuple((target or source).split(".")))
        for source, target in AttributeMapping.objects.filter(dataflow=dataflow)
        .order_by("position", "id")
        .values_list("source_path", "target_path")
    )
    selections = tuple(
        IdentitySelection.objects.filter(dataflow=dataflow)
        .order_by("namespace")
        .values_list("namespace", "hashed")
    )
    segments = {
        str(mapped.segment_id): SegmentInfo(
            name=mapped.segment.name,
            created_ms=unix_ms(mapped.segment.created_at),
            updated_ms=unix_ms(mapped.segment.updated_at),
            mapping_created_ms=unix_ms(mapped.mapping_created_at),
            mapping_updated_ms=unix_ms(mapped.mapping_updated_at),
        )
        for mapped in DataflowSegment.objects.filter(dataflow=dataflow)
        .select_related("segment")
        .order_by("id")
    }
    connection = dataflow.connection
    return ExportContext(
        dataflow_id=dataflow.pk,
        attributes=attributes,
        # No selection at all means the default: every namespace, as is.
        namespaces=selections or None,
        segments=segments,
        include_names=bool(connection and connection.include_segment_names),
        include_timestamps=bool(connection and connection.include_segment_timestamps),
        partition_key_source=dataflow.partition_key_source or "profile_id",
        export_only_on_value_change=dataflow.export_only_on_value_change,
    )


def snapshots_for(context: ExportContext, profile_ids: list[int]) -> dict[int, ProfileSnapshot]:
    """Current state of existing profiles among `profile_ids` (deleted ones are absent),
    with their memberships of the dataflow's mapped segments (any status)."""
    if not profile_ids:
        return {}
    if connection.vendor == "postgresql":
        states = _states_postgresql(context, profile_ids)
    else:
        states = _states_orm(context, profile_ids)
    # Positional: one snapshot per exported profile.
    return {
        profile_id: ProfileSnapshot(profile_id, attributes or {}, identities, memberships)
        for profile_id, attributes, identities, memberships in states
    }


State = tuple[int, dict, list[tuple[str, str]], dict[str, tuple[str, Any]]]


def _states_postgresql(context: ExportContext, profile_ids: list[int]) -> Iterator[State]:
    # One round trip, one JSON array for the whole chunk (decoded in one call),
    # and `= ANY(array)`: the ORM's `__in` with thousands of ids costs more
    # than the export itself.
    namespaces = context.needed_namespaces()
    only = "AND i.namespace = ANY(%(namespaces)s)" if namespaces is not None else ""
    [(states,)] = _rows(
        "SELECT COALESCE(json_agg(json_build_array(p.id, p.attributes, "
        "(SELECT json_agg(json_build_array(i.namespace, i.value) ORDER BY i.id) "
        f"FROM {_IDENTITIES} i WHERE i.profile_id = p.id {only}), "
        "(SELECT json_agg(json_build_array(m.segment_id, m.status, m.last_qualification_time)) "
        f"FROM {_MEMBERSHIPS} m WHERE m.profile_id = p.id "
        "AND m.segment_id = ANY(%(segments)s::uuid[])))), '[]')::text "
        f"FROM {_PROFILES} p WHERE p.id = ANY(%(ids)s::bigint[])",
        {
            "namespaces": sorted(namespaces or ()),
            "segments": list(context.segments),
            # An array literal: adapting a list of ints costs a call per element.
            "ids": "{" + ",".join(map(str, profile_ids)) + "}",
        },
    )
    # Profiles written together share their qualification time: parse each once.
    times: dict[str, dt.datetime] = {}
    for profile_id, attributes, identities, memberships in json.loads(states):
        members: dict[str, tuple[str, Any]] = {}
        for segment_id, status, qualified_at in memberships or ():
            moment = times.get(qualified_at)
            if moment is None:
                moment = times[qualified_at] = dt.datetime.fromisoformat(qualified_at)
            members[segment_id] = (status, moment)
        yield (
            profile_id,
            attributes,
            [(ns, value) for ns, value in identities or ()],
            members,
        )


def _states_orm(context: ExportContext, profile_ids: list[int]) -> Iterator[State]:
    identities: dict[int, list[tuple[str, str]]] = {}
    identity_rows = Identity.objects.filter(profile_id__in=profile_ids)
    namespaces = context.needed_namespaces()
    if namespaces is not None:
        identity_rows = identity_rows.filter(namespace__in=namespaces)
    for profile_id, namespace, value in identity_rows.order_by("id").values_list(
        "profile_id", "namespace", "value"
    ):
        identities.setdefault(profile_id, []).append((namespace, value))
    memberships: dict[int, dict[str, tuple[str, Any]]] = {}
    for profile_id, segment_id, status, qualified_at in SegmentMembership.objects.filter(
        profile_id__in=profile_ids, segment_id__in=list(context.segments)
    ).values_list("profile_id", "segment_id", "status", "last_qualification_time"):
        memberships.setdefault(profile_id, {})[str(segment_id)] = (status, qualified_at)
    for profile_id, attributes in Profile.objects.filter(id__in=profile_ids).values_list(
        "id", "attributes"
    ):
        yield (
            profile_id,
            attributes,
            identities.get(profile_id, []),
            memberships.get(profile_id, {}),
        )


def _rows(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def segment_member_count(segment_id: Any, *, exited_since: dt.datetime | None = None) -> int:
    """Current members (realized or existing) of a segment, plus, with `exited_since`,
    the profiles that left it since then (what a backfill exports)."""
    current = SegmentMembership.objects.filter(segment_id=segment_id, status__in=MEMBER_STATUSES)
    if exited_since is None:
        return current.count()
    return current.count() + exited_members(segment_id, exited_since).count()


def exited_members(segment_id: Any, since: dt.datetime) -> Any:
    """Memberships of profiles that left the segment at or after `since`."""
    return SegmentMembership.objects.filter(
        segment_id=segment_id,
        status=MembershipStatus.EXITED,
        last_qualification_time__gte=since,
    )


def backfill_remaining_profiles(cursors: list[tuple[Any, int]]) -> int:
    """Distinct current members still to export by backfills at these (segment, last
    profile id) cursors: a profile in two segments counts once, as it is sent once."""
    if not cursors:
        return 0
    pending = Q()
    for segment_id, last_profile_id in cursors:
        pending |= Q(segment_id=segment_id, profile_id__gt=last_profile_id)
    return (
        SegmentMembership.objects.filter(pending, status__in=MEMBER_STATUSES)
        .values("profile_id")
        .distinct()
        .count()
    )
