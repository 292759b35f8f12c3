from django.contrib import admin

from activation.admin_actions import DATAFLOW_FIELDSETS, DataflowAdminActions
from activation.models import (
    AttributeMapping,
    Backfill,
    Dataflow,
    DataflowSegment,
    DeliveryLog,
    EditHandover,
    ExportRun,
    IdentitySelection,
    RunIssue,
)
from core.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline


# Mapping is edited in the activation wizard (or the API), which validates it and
# backfills new segments; the admin shows it.
class DataflowSegmentInline(ReadOnlyInline):
    model = DataflowSegment


class AttributeMappingInline(ReadOnlyInline):
    model = AttributeMapping


class IdentitySelectionInline(ReadOnlyInline):
    model = IdentitySelection


@admin.register(Dataflow)
class DataflowAdmin(DataflowAdminActions, admin.ModelAdmin):
    list_display = ["name", "connection", "status", "last_activity_at", "created_by"]
    list_filter = ["status", "connection", ("edit_of", admin.EmptyFieldListFilter)]
    search_fields = ["name", "connection__name", "created_by__username"]
    list_select_related = ["connection", "created_by"]
    inlines = [DataflowSegmentInline, AttributeMappingInline, IdentitySelectionInline]
    fieldsets = DATAFLOW_FIELDSETS


@admin.register(Backfill)
class BackfillAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["dataflow", "segment", "status", "processed", "total", "created_at"]
    list_filter = ["status", "reason"]
    search_fields = ["dataflow__name", "segment__name"]


@admin.register(ExportRun)
class ExportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "dataflow",
        "window_start",
        "profiles_received",
        "identities_activated",
        "identities_excluded",
        "identities_failed",
        "delivered_after_retries",
        "status",
    ]
    list_filter = ["status", "dataflow", "window_start"]
    search_fields = ["dataflow__name"]
    date_hierarchy = "window_start"


@admin.register(RunIssue)
class RunIssueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["run", "profile_id", "kind", "attempts", "error_code"]
    raw_id_fields = ["run"]
    list_filter = ["kind", "error_code"]
    search_fields = ["identity", "reason"]


@admin.register(DeliveryLog)
class DeliveryLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["dataflow", "profile_id", "sent_at", "shard_id", "sequence_number", "reason"]
    list_filter = ["reason", "dataflow"]
    search_fields = ["=profile_id", "sequence_number"]


@admin.register(EditHandover)
class EditHandoverAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Unfinished edits someone took over or discarded, and whether their editor was told."""

    list_display = ["dataflow", "action", "previous_editor", "by", "at", "seen_at"]
    list_filter = ["action", "at"]
    search_fields = ["dataflow__name", "previous_editor__username", "by__username"]
