"""What the audit log records of a connection or a dataflow: non-secret fields only.

The secret access key is never part of a snapshot; its ciphertext is compared
in memory only, to tell that it was replaced.
"""

from dataclasses import dataclass
from typing import Any

from activation.models import Dataflow, DataflowStatus
from destinations.models import Connection

# Own fields whose change is worth an entry (health, cursors, locks are not).
CONNECTION_FIELDS = frozenset(
    {
        "owner",
        "name",
        "description",
        "auth_method",
        "access_key_id",
        "secret_access_key_encrypted",
        "role_arn",
        "external_id",
        "region",
        "stream_name",
        "include_segment_names",
        "include_segment_timestamps",
        "alerts_enabled",
    }
)
DATAFLOW_FIELDS = frozenset(
    {"connection", "name", "status", "partition_key_source", "export_only_on_value_change"}
)
# Dataflow parts kept in child rows (bulk-created by the wizard services, so
# their "before" comes from the last audit entry when there is one).
DATAFLOW_CHILD_KEYS = ("segments", "attributes", "identities")

SECRET_KEY = "secretKey"
HIDDEN = "hidden"
REPLACED = "replaced"


@dataclass(frozen=True)
class Snapshot:
    """Public fields, plus a marker compared in memory only (never stored)."""

    fields: dict[str, Any]
    secret_marker: str = ""
    skip: bool = False


def _mask(value: str) -> str:
    if not value:
        return ""
    return "…" if len(value) <= 8 else f"{value[:4]}…{value[-4:]}"


def connection_snapshot(connection: Connection) -> Snapshot:
    return Snapshot(
        fields={
            "name": connection.name,
            "description": connection.description,
            "owner": connection.owner.get_username() if connection.owner_id else "",
            "authMethod": connection.auth_method,
            "accessKeyId": _mask(connection.access_key_id),
            SECRET_KEY: HIDDEN if connection.secret_access_key_encrypted else "",
            "roleArn": connection.role_arn,
            "externalId": _mask(connection.external_id),
            "region": connection.region,
            "stream": connection.stream_name,
            "includeSegmentNames": connection.include_segment_names,
            "includeSegmentTimestamps": connection.include_segment_timestamps,
            "alertsEnabled": connection.alerts_enabled,
        },
        secret_marker=connection.secret_access_key_encrypted,
    )


def dataflow_snapshot(dataflow: Dataflow) -> Snapshot:
    segments = sorted(
        f"{name} ({segment_id})"
        for segment_id, name in dataflow.mapped_segments.values_list("segment_id", "segment__name")
    )
    attributes = [
        m.source_path if m.exported_path == m.source_path else f"{m.source_path} → {m.target_path}"
        for m in dataflow.attribute_mappings.all()
    ]
    identities = [
        f"{s.namespace} (hashed)" if s.hashed else s.namespace
        for s in dataflow.identity_selections.all()
    ]
    connection = dataflow.connection
    return Snapshot(
        fields={
            "name": dataflow.name,
            "status": dataflow.status,
            "connection": f"{connection.name} (#{connection.pk})" if connection else "",
            "segments": segments,
            "attributes": attributes,
            "identities": identities,
            "partitionKey": dataflow.partition_key_source,
            "exportOnlyOnValueChange": dataflow.export_only_on_value_change,
        },
        # Edit copies are the wizard's scratch space; applying one edits the original.
        skip=dataflow.edit_of_id is not None,
    )


def diff(before: dict | None, after: dict | None) -> list[dict]:
    """The fields that differ, in the order of the snapshot."""
    before, after = before or {}, after or {}
    keys = list(after) + [key for key in before if key not in after]
    return [
        {"field": key, "before": before.get(key), "after": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    ]


def is_draft(fields: dict | None) -> bool:
    return fields is not None and fields.get("status") == DataflowStatus.DRAFT
