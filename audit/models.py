"""The audit log: who created, edited, enabled, disabled or deleted what."""

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    ENABLED = "enabled", "Enabled"
    DISABLED = "disabled", "Disabled"
    SECRET_ROTATED = "secret_rotated", "Rotated secret"
    DELETED = "deleted", "Deleted"


class ObjectType(models.TextChoices):
    CONNECTION = "connection", "Connection"
    DATAFLOW = "dataflow", "Dataflow"


class Via(models.TextChoices):
    UI = "ui", "Web UI"
    ADMIN = "admin", "Django admin"
    API = "api", "REST API"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    """One change of a connection or dataflow, with its non-secret fields before and after.

    The product's one audit trail: the audit log page, the dataflow page's notices
    and Django admin all read it.

    Entries are only ever added (the admin shows them read-only); one a service
    described is completed with the fields when its transaction commits. The actor's
    name is copied so the entry keeps meaning if the account is deleted.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    actor_name = models.CharField(max_length=150)
    via = models.CharField(max_length=16, choices=Via.choices)
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=32, choices=ObjectType.choices)
    object_id = models.BigIntegerField()
    object_name = models.CharField(max_length=200)
    # Non-secret fields; `before` is null for a creation, `after` for a deletion.
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # [{"field", "before", "after"}] for the fields that differ.
    changes = models.JSONField(default=list, blank=True)
    # What a service did, in words and as structured facts (recorder.describe_change):
    # "Added segment(s) VIP…", {"segments": {"added": [...]}}; empty for plain saves.
    summary = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id", "created_at"])]

    def __str__(self) -> str:
        action = self.get_action_display().lower()
        return f"{self.actor_name} {action} {self.object_type} “{self.object_name}”"
