"""Reads the exporter needs: a dataflow's mapping and profiles' current state, in bulk.

Every loader takes a list of profile ids and answers with a few queries
(values_list, no model instances), so a run's cost follows the number of
changed profiles, never the size of the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection

from activation.export.records import ExportContext, ProfileSnapshot, SegmentInfo, unix_ms
from activation.models import AttributeMapping, Dataflow, DataflowSegment, IdentitySelection
from profiles.models import Identity, MembershipStatus, Profile, SegmentMembership

CURRENT_STATUSES = (MembershipStatus.REALIZED, MembershipStatus.EXISTING)
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


def mapped_memberships(
    context: ExportContext, profile_ids: Iterable[int]
) -> dict[int, dict[str, tuple[str, Any]]]:
    """Each profile's memberships of the dataflow's mapped segments (any status)."""
    ids = list(profile_ids)
    found: dict[int, dict[str, tuple[str, Any]]] = {}
    if not context.segments or not ids:
        return found
    if connection.vendor == "postgresql":
        rows: Iterable[tuple] = _rows(
            "SELECT profile_id, segment_id::text, status, last_qualification_time "
            f"FROM {_MEMBERSHIPS} WHERE profile_id = ANY(%s) AND segment_id = ANY(%s::uuid[])",
            [ids, list(context.segments)],
        )
    else:
        rows = SegmentMembership.objects.filter(
            profile_id__in=ids, segment_id__in=list(context.segments)
        ).values_list("profile_id", "segment_id", "status", "last_qualification_time")
    for profile_id, segment_id, status, qualified_at in rows:
        found.setdefault(profile_id, {})[str(segment_id)] = (status, qualified_at)
    return found


def snapshots_for(
    context: ExportContext,
    profile_ids: list[int],
    memberships: dict[int, dict[str, tuple[str, Any]]] | None = None,
) -> dict[int, ProfileSnapshot]:
    """Current state of existing profiles among `profile_ids` (deleted ones are absent)."""
    if not profile_ids:
        return {}
    if memberships is None:
        memberships = mapped_memberships(context, profile_ids)
    namespaces = context.needed_namespaces()
    if connection.vendor == "postgresql":
        states = _states_postgresql(profile_ids, namespaces)
    else:
        states = _states_orm(profile_ids, namespaces)
    return {
        profile_id: ProfileSnapshot(
            profile_id=profile_id,
            attributes=attributes or {},
            identities=identities,
            memberships=memberships.get(profile_id, {}),
        )
        for profile_id, attributes, identities in states
    }


def _states_postgresql(
    profile_ids: list[int], namespaces: set[str] | None
) -> Iterator[tuple[int, dict, list[tuple[str, str]]]]:
    # One round trip, one JSON document per profile, and `= ANY(array)`: the
    # ORM's `__in` with thousands of ids costs more than the export itself.
    only = "AND i.namespace = ANY(%s)" if namespaces is not None else ""
    params: list[Any] = [sorted(namespaces)] if namespaces is not None else []
    rows = _rows(
        "SELECT p.id, p.attributes::text, (SELECT json_agg(json_build_array(i.namespace, "
        f"i.value) ORDER BY i.id) FROM {_IDENTITIES} i WHERE i.profile_id = p.id {only})::text "
        f"FROM {_PROFILES} p WHERE p.id = ANY(%s)",
        [*params, list(profile_ids)],
    )
    for profile_id, attributes, identities in rows:
        pairs = [(ns, value) for ns, value in json.loads(identities)] if identities else []
        yield profile_id, json.loads(attributes), pairs


def _states_orm(
    profile_ids: list[int], namespaces: set[str] | None
) -> Iterator[tuple[int, dict, list[tuple[str, str]]]]:
    identities: dict[int, list[tuple[str, str]]] = {}
    identity_rows = Identity.objects.filter(profile_id__in=profile_ids)
    if namespaces is not None:
        identity_rows = identity_rows.filter(namespace__in=namespaces)
    for profile_id, namespace, value in identity_rows.order_by("id").values_list(
        "profile_id", "namespace", "value"
    ):
        identities.setdefault(profile_id, []).append((namespace, value))
    for profile_id, attributes in Profile.objects.filter(id__in=profile_ids).values_list(
        "id", "attributes"
    ):
        yield profile_id, attributes, identities.get(profile_id, [])


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def segment_member_count(segment_id: Any) -> int:
    """Current members (realized or existing) of a segment."""
    return SegmentMembership.objects.filter(
        segment_id=segment_id, status__in=CURRENT_STATUSES
    ).count()
