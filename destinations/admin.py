from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from destinations import services
from destinations.admin_actions import ConnectionAdminActions, form_fields_of
from destinations.catalog import get_destination_type
from destinations.kinesis.forms import DestinationFieldsMixin
from destinations.models import Connection, ConnectionDraft

# The secret never appears in the admin (neither plain nor as ciphertext), and
# the access key id only masked.
SECRET_FIELDS = ["secret_access_key_encrypted", "access_key_id"]

# What the product treats as fixed once a connection exists: the exporter, the
# health checks and the IAM policy helper all assume these never change, so the
# admin shows them and nothing more (credentials rotate through "Rotate secret").
FIXED_FIELDS = [
    "owner",
    "destination_type_label",
    "stream_name",
    "region",
    "auth_method",
    "masked_access_key_id",
    "role_arn",
    "external_id",
    "aws_account_id",
    "secret_updated_at",
]
# What the edit page may change; saved through services.connection_update.
EDITABLE_FIELDS = [
    "name",
    "description",
    "include_segment_names",
    "include_segment_timestamps",
    "alerts_enabled",
]
HEALTH_FIELDS = ["health", "health_message", "health_checked_at"]


class ConnectionAdminForm(forms.ModelForm):
    """Only the editable fields, validated like the connection's edit page."""

    class Meta:
        model = Connection
        fields = EDITABLE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # DestinationFieldsMixin.clean_name reads these (one rule for unique names).
        self.owner = self.instance.owner
        self.exclude_pk = self.instance.pk

    def clean_name(self) -> str:
        return DestinationFieldsMixin.clean_name(self)  # type: ignore[arg-type]


@admin.register(Connection)
class ConnectionAdmin(ConnectionAdminActions, admin.ModelAdmin):
    form = ConnectionAdminForm
    list_display = ["name", "owner", "stream_name", "region", "health", "health_checked_at"]
    list_filter = ["health", "region", "auth_method"]
    search_fields = ["name", "stream_name", "owner__username", "aws_account_id"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (
            "Stream and credentials (fixed; rotate the secret with the button above)",
            {"fields": FIXED_FIELDS},
        ),
        (
            "Export options",
            {"fields": ["include_segment_names", "include_segment_timestamps", "alerts_enabled"]},
        ),
        ("Health", {"fields": HEALTH_FIELDS}),
    ]
    readonly_fields = [*FIXED_FIELDS, *HEALTH_FIELDS]

    @admin.display(description="Destination type")
    def destination_type_label(self, connection: Connection) -> str:
        entry = get_destination_type(connection.destination_type)
        return entry.name if entry else connection.destination_type

    def save_model(self, request: HttpRequest, obj: Connection, form: Any, change: bool) -> None:
        # The same service as the edit page and the API (no credentials here).
        services.connection_update(connection=obj, **form_fields_of(obj))

    def delete_model(self, request: HttpRequest, obj: Connection) -> None:
        self.delete_queryset(request, Connection.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        # Like the destinations page: a connection in use is refused, by name.
        for connection in queryset:
            try:
                services.connection_delete(connection=connection)
            except services.ConnectionInUse as exc:
                self.message_user(request, str(exc), messages.ERROR)


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
