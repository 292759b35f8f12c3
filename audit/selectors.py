"""Reads of the audit log."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from audit.models import Action, AuditEntry, ObjectType, Via
from core.input_policy import parse_id


@dataclass(frozen=True)
class AuditFilters:
    object_type: str = ""
    object_id: int | None = None
    action: str = ""
    via: str = ""
    query: str = ""

    @classmethod
    def from_params(cls, params: dict) -> "AuditFilters":
        """Filters from a query string; unknown values are ignored, never an error."""
        object_id = params.get("object_id", "")
        return cls(
            object_type=params.get("object_type", "")
            if params.get("object_type") in ObjectType
            else "",
            object_id=parse_id(str(object_id)),
            action=params.get("action", "") if params.get("action") in Action else "",
            via=params.get("via", "") if params.get("via") in Via else "",
            query=str(params.get("q", "")).strip()[:200],
        )

    @property
    def active(self) -> bool:
        return any((self.object_type, self.object_id, self.action, self.via, self.query))


def audit_entries(*, filters: AuditFilters = AuditFilters()) -> QuerySet[AuditEntry]:
    """Entries newest first, narrowed by the filters."""
    entries = AuditEntry.objects.select_related("actor")
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type)
    if filters.object_id is not None:
        entries = entries.filter(object_id=filters.object_id)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.via:
        entries = entries.filter(via=filters.via)
    if filters.query:
        entries = entries.filter(
            Q(actor_name__icontains=filters.query) | Q(object_name__icontains=filters.query)
        )
    return entries


def audit_entries_for(*, object_type: str, object_id: int, limit: int = 20) -> list[AuditEntry]:
    """The latest entries of one connection or dataflow."""
    return list(
        audit_entries(filters=AuditFilters(object_type=object_type, object_id=object_id))[:limit]
    )


def segment_deletions(*, dataflow_id: int, limit: int = 5) -> list[AuditEntry]:
    """Segments deleted from under a dataflow (profiles.segments.segment_delete), newest
    first: the dataflow page's notices."""
    return list(
        AuditEntry.objects.filter(
            object_type=ObjectType.DATAFLOW,
            object_id=dataflow_id,
            details__has_key="segment_deleted",
        )[:limit]
    )
