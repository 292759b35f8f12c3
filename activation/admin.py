from django.contrib import admin

from activation.models import (
    AttributeMapping,
    Backfill,
    Dataflow,
    DataflowSegment,
    DeliveryLog,
    ExportRun,
    IdentitySelection,
    RunIssue,
)


class DataflowSegmentInline(admin.TabularInline):
    model = DataflowSegment
    extra = 0


class AttributeMappingInline(admin.TabularInline):
    model = AttributeMapping
    extra = 0


class IdentitySelectionInline(admin.TabularInline):
    model = IdentitySelection
    extra = 0


@admin.register(Dataflow)
class DataflowAdmin(admin.ModelAdmin):
    list_display = ["name", "connection", "status", "last_activity_at", "created_by"]
    list_filter = ["status", "connection"]
    search_fields = ["name"]
    inlines = [DataflowSegmentInline, AttributeMappingInline, IdentitySelectionInline]


@admin.register(Backfill)
class BackfillAdmin(admin.ModelAdmin):
    list_display = ["dataflow", "segment", "status", "processed", "total", "created_at"]
    list_filter = ["status"]


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = [
        "dataflow",
        "window_start",
        "profiles_received",
        "identities_activated",
        "identities_excluded",
        "identities_failed",
        "status",
    ]
    list_filter = ["status", "dataflow"]


@admin.register(RunIssue)
class RunIssueAdmin(admin.ModelAdmin):
    list_display = ["run", "profile_id", "kind", "error_code"]
    list_filter = ["kind", "error_code"]
    search_fields = ["identity", "reason"]


@admin.register(DeliveryLog)
class DeliveryLogAdmin(admin.ModelAdmin):
    list_display = ["dataflow", "profile_id", "sent_at", "shard_id", "sequence_number", "reason"]
    list_filter = ["reason", "dataflow"]
    search_fields = ["=profile_id", "sequence_number"]
