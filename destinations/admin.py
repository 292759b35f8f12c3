from django.contrib import admin

from destinations.models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "stream_name", "region", "health", "health_checked_at"]
    list_filter = ["health", "region", "auth_method"]
    search_fields = ["name", "stream_name"]
    # The secret never appears in the admin; only the masked key id does.
    exclude = ["secret_access_key_encrypted", "access_key_id"]
    readonly_fields = ["masked_access_key_id", "health", "health_message", "health_checked_at"]
