from django.contrib import admin

from alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "recipient", "occurrences", "created_at", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "dedupe_key"]
    readonly_fields = ["created_at", "last_seen_at", "emailed_at", "read_at"]
    raw_id_fields = ["connection", "dataflow", "recipient", "resolved_by"]
