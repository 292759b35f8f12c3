"""Django admin actions for dataflows: enable, disable, backfill.

They call the same services as the dataflow pages (activation/services.py,
activation/export/services.py), so the export engine is told, the change is
recorded in the audit log (who, and what in words) and refusals say why.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from activation import services
from activation.export.services import backfill_start
from activation.models import Dataflow

# What an admin needs first, then what the mapping is, then the export engine's
# own bookkeeping (collapsed). Only the name is editable here: the mapping and the
# partition key change through the edit wizard (validated, backfilled), the
# status through the actions below, the rest is written by the engine itself.
SUMMARY_FIELDS = [
    "name",
    "connection",
    "status",
    "status_message",
    "segment_list",
    "last_activity_at",
    "health",
]
MAPPING_FIELDS = ["partition_key_source", "export_only_on_value_change", "created_by", "edit_of"]
ENGINE_FIELDS = [
    "cursor_txid",
    "cursor_change_id",
    "lock_token",
    "locked_until",
    "run_scheduled_for",
    "last_run_at",
    "retry_at",
    "failure_count",
    "last_error_code",
    "backfill_total",
    "backfill_done",
    "backfill_started_at",
]
EDITABLE_FIELDS = ["name"]
DATAFLOW_FIELDSETS = [
    (None, {"fields": SUMMARY_FIELDS}),
    ("Mapping (change it with the dataflow's Edit wizard)", {"fields": MAPPING_FIELDS}),
    ("Export engine internals", {"classes": ["collapse"], "fields": ENGINE_FIELDS}),
]
READ_ONLY_FIELDS = [
    name
    for name in [*SUMMARY_FIELDS, *MAPPING_FIELDS, *ENGINE_FIELDS]
    if name not in EDITABLE_FIELDS
]


class DataflowAdminActions:
    """Mixed into DataflowAdmin."""

    actions = ["enable_dataflows", "disable_dataflows", "backfill_dataflows"]

    # A dataflow is created by the activation wizard or the API (they validate
    # the mapping and start the backfill); its mapping is edited there too.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return READ_ONLY_FIELDS

    @admin.display(description="Segments")
    def segment_list(self, dataflow: Dataflow) -> str:
        names = dataflow.segments.order_by("name").values_list("name", flat=True)
        return ", ".join(names) or "—"

    @admin.display(description="Health")
    def health(self, dataflow: Dataflow) -> str:
        parts = []
        if dataflow.connection is not None:
            parts.append(f"destination {dataflow.connection.get_health_display().lower()}")
        if dataflow.failure_count:
            retry = (
                f", next try {dataflow.retry_at:%Y-%m-%d %H:%M} UTC" if dataflow.retry_at else ""
            )
            parts.append(
                f"{dataflow.failure_count} failed run(s) in a row "
                f"({dataflow.last_error_code or 'no code'}{retry})"
            )
        else:
            parts.append("last run succeeded" if dataflow.last_run_at else "no run yet")
        return "; ".join(parts)

    def save_model(self, request: HttpRequest, obj: Dataflow, form: Any, change: bool) -> None:
        # The form holds the name only; save nothing the engine may be writing.
        obj.save(update_fields=["name", "updated_at"])

    def delete_model(self, request: HttpRequest, obj: Dataflow) -> None:
        services.dataflow_delete(dataflow=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataflow]) -> None:
        for dataflow in queryset:
            services.dataflow_delete(dataflow=dataflow, user=request.user)

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Dataflow], act: Any, done: str
    ) -> None:
        count = 0
        for dataflow in queryset:
            try:
                act(dataflow)
            except (services.DataflowError, ValueError) as exc:
                self.message_user(request, f"“{dataflow.name}”: {exc}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{done} {count} dataflow(s).", messages.SUCCESS)

    @admin.action(description="Enable selected dataflows")
    def enable_dataflows(self, request: HttpRequest, queryset: QuerySet[Dataflow]) -> None:
        self._each(
            request,
            queryset,
            lambda d: services.dataflow_enable(dataflow=d, user=request.user),
            "Enabled",
        )

    @admin.action(description="Disable selected dataflows")
    def disable_dataflows(self, request: HttpRequest, queryset: QuerySet[Dataflow]) -> None:
        self._each(
            request,
            queryset,
            lambda d: services.dataflow_disable(dataflow=d, user=request.user),
            "Disabled",
        )

    @admin.action(description="Backfill: export the current members of every mapped segment")
    def backfill_dataflows(self, request: HttpRequest, queryset: QuerySet[Dataflow]) -> None:
        def backfill(dataflow: Dataflow) -> None:
            if dataflow.is_draft:
                raise services.DataflowError("a draft sends nothing; finish its wizard first.")
            segment_ids = list(dataflow.mapped_segments.values_list("segment_id", flat=True))
            if not segment_ids:
                raise services.DataflowError("no segment is mapped.")
            backfill_start(dataflow=dataflow, segment_ids=segment_ids, reason="replay")

        self._each(request, queryset, backfill, "Started a backfill of")
