"""Alerts: problems a marketer must know about, shown in the UI and emailed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    DATAFLOW_ERROR = "dataflow_error", _("Dataflow in error")
    EXCLUDED_RATE = "excluded_rate", _("Excluded rate above 1 %")
    CONNECTION_UNHEALTHY = "connection_unhealthy", _("Connection unhealthy")
    ACCESS_KEY_AGE = "access_key_age", _("Access key older than 90 days")


class Alert(models.Model):
    """One ongoing (open) or past (resolved) problem, identified by its dedupe key.

    At most one open alert exists per dedupe key (a partial unique constraint),
    so an ongoing problem raised again and again alerts once.
    """

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=200)
    connection = models.ForeignKey(
        "destinations.Connection",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    dataflow = models.ForeignKey(
        "activation.Dataflow",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    # Who is told: the connection's owner, else the dataflow's creator.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_dedupe_key",
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "resolved_at", "created_at"]),
            models.Index(fields=["dedupe_key", "resolved_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
