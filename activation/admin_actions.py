"""Django admin actions for dataflows: enable, disable, backfill.

They call the same services as the dataflow pages (activation/services.py,
activation/export/services.py), so the export engine is told, the change is
recorded (DataflowChange, audit log) and refusals say why.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from activation import services
from activation.export.services import backfill_start
from activation.models import Dataflow, DataflowStatus

# Changed only through the actions (status) or the product itself (cursors, locks).
SERVICE_FIELDS = [
    "status",
    "status_message",
    "connection",
    "wizard_step",
    "edit_of",
    "created_by",
    "cursor_txid",
    "cursor_change_id",
    "lock_token",
    "locked_until",
    "last_activity_at",
    "run_scheduled_for",
    "last_run_at",
    "retry_at",
    "failure_count",
    "last_error_code",
]


class DataflowAdminActions:
    """Mixed into DataflowAdmin."""

    actions = ["enable_dataflows", "disable_dataflows", "backfill_dataflows"]

    # A dataflow is created by the activation wizard or the API (they validate
    # the mapping and start the backfill); its mapping is edited there too.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), *SERVICE_FIELDS]

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
            if dataflow.status == DataflowStatus.DRAFT:
                raise services.DataflowError("a draft sends nothing; finish its wizard first.")
            segment_ids = list(dataflow.mapped_segments.values_list("segment_id", flat=True))
            if not segment_ids:
                raise services.DataflowError("no segment is mapped.")
            backfill_start(dataflow=dataflow, segment_ids=segment_ids, reason="replay")

        self._each(request, queryset, backfill, "Started a backfill of")
