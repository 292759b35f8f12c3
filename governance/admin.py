"""Django admin for every governance model. Core (seeded) rows are read-only but for a
policy's enabled flag; saves re-evaluate live dataflows (governance/signals.py)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from governance.models import (
    ConsentPolicy,
    ConsentSuppression,
    DataUsageLabel,
    DataUsagePolicy,
    LabelAssignment,
    MarketingAction,
)
from governance.services import policy_delete


class CoreReadOnly(admin.ModelAdmin):
    core_editable: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and getattr(obj, "core", False):
            return [
                f.name
                for f in self.model._meta.get_fields()
                if f.concrete and f.name not in self.core_editable and not f.auto_created
            ] + ["core"]
        return ["core"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and getattr(obj, "core", False):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(DataUsageLabel)
class DataUsageLabelAdmin(CoreReadOnly):
    list_display = ["code", "name", "family", "core"]
    list_filter = ["family", "core"]
    search_fields = ["code", "name"]


@admin.register(MarketingAction)
class MarketingActionAdmin(CoreReadOnly):
    list_display = ["name", "code", "core"]
    list_filter = ["core"]
    search_fields = ["code", "name"]


@admin.register(LabelAssignment)
class LabelAssignmentAdmin(admin.ModelAdmin):
    list_display = ["target", "target_type", "label", "created_at"]
    list_filter = ["target_type", "label"]
    search_fields = ["target"]


@admin.register(DataUsagePolicy)
class DataUsagePolicyAdmin(CoreReadOnly):
    core_editable = ("enabled",)
    list_display = ["name", "marketing_action", "operator", "enabled", "core"]
    list_filter = ["enabled", "core", "marketing_action"]
    search_fields = ["name", "description"]
    filter_horizontal = ["labels"]

    # Deleting goes through the service, so the audit log records it.
    def delete_model(self, request: HttpRequest, obj: DataUsagePolicy) -> None:
        policy_delete(policy=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for policy in queryset:
            policy_delete(policy=policy)


@admin.register(ConsentPolicy)
class ConsentPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "updated_at"]
    list_filter = ["enabled", "marketing_actions"]
    search_fields = ["name", "description"]
    filter_horizontal = ["marketing_actions"]


@admin.register(ConsentSuppression)
class ConsentSuppressionAdmin(admin.ModelAdmin):
    list_display = ["dataflow", "profile_id", "suppressed_at"]
    list_filter = ["suppressed_at"]
    search_fields = ["=profile_id"]
    raw_id_fields = ["dataflow"]
