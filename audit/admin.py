from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the recorder, never by hand."""

    list_display = [
        "created_at",
        "actor_name",
        "via",
        "action",
        "object_type",
        "object_name",
        "summary",
    ]
    list_filter = ["action", "object_type", "via", "created_at"]
    search_fields = ["actor_name", "object_name", "summary", "=object_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "actor",
        "actor_name",
        "via",
        "action",
        "object_type",
        "object_id",
        "object_name",
        "summary",
        "details",
        "before",
        "after",
        "changes",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
