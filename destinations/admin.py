from django.contrib import admin

from destinations.admin_actions import ConnectionAdminActions
from destinations.models import Connection, ConnectionDraft

# The secret never appears in the admin (neither plain nor as ciphertext), and
# the access key id only masked.
SECRET_FIELDS = ["secret_access_key_encrypted", "access_key_id"]


@admin.register(Connection)
class ConnectionAdmin(ConnectionAdminActions, admin.ModelAdmin):
    list_display = ["name", "owner", "stream_name", "region", "health", "health_checked_at"]
    list_filter = ["health", "region", "auth_method"]
    search_fields = ["name", "stream_name", "owner__username", "aws_account_id"]
    exclude = [*SECRET_FIELDS, "check_report"]
    readonly_fields = [
        "masked_access_key_id",
        "secret_updated_at",
        "aws_account_id",
        "health",
        "health_message",
        "health_checked_at",
    ]


@admin.register(ConnectionDraft)
class ConnectionDraftAdmin(admin.ModelAdmin):
    """Unfinished connect wizards; read-only (they are purged after a day)."""

    list_display = ["id", "owner", "region", "auth_method", "verified_at", "updated_at"]
    list_filter = ["auth_method", "region"]
    search_fields = ["owner__username", "aws_account_id"]
    exclude = SECRET_FIELDS
    readonly_fields = [
        "masked_access_key_id",
        "owner",
        "auth_method",
        "role_arn",
        "external_id",
        "region",
        "aws_account_id",
        "stream_names",
        "verified_at",
        "secret_updated_at",
    ]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
