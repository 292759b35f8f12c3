"""Connections to destinations (today: Amazon Kinesis Data Streams)."""

from django.conf import settings
from django.db import models

from core import crypto


class AuthMethod(models.TextChoices):
    ACCESS_KEYS = "access_keys", "Access keys"
    IAM_ROLE = "iam_role", "IAM role"


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    OK = "ok", "Healthy"
    FAILING = "failing", "Failing"


class Connection(models.Model):
    """Credentials and stream of one destination, owned by a user."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connections"
    )
    destination_type = models.CharField(max_length=32, default="kinesis")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    auth_method = models.CharField(
        max_length=16, choices=AuthMethod.choices, default=AuthMethod.ACCESS_KEYS
    )
    access_key_id = models.CharField(max_length=128, blank=True)
    # Fernet ciphertext; never rendered. Use set_secret()/get_secret().
    secret_access_key_encrypted = models.TextField(blank=True)
    secret_updated_at = models.DateTimeField(null=True, blank=True)
    role_arn = models.CharField(max_length=2048, blank=True)
    external_id = models.CharField(max_length=1224, blank=True)
    region = models.CharField(max_length=32)
    stream_name = models.CharField(max_length=128)
    include_segment_names = models.BooleanField(default=False)
    include_segment_timestamps = models.BooleanField(default=False)
    alerts_enabled = models.BooleanField(default=True)
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.UNKNOWN)
    health_message = models.TextField(blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="connection_unique_owner_name")
        ]

    def __str__(self) -> str:
        return self.name

    def set_secret(self, secret: str) -> None:
        self.secret_access_key_encrypted = crypto.encrypt(secret) if secret else ""

    def get_secret(self) -> str:
        if not self.secret_access_key_encrypted:
            return ""
        return crypto.decrypt(self.secret_access_key_encrypted)

    @property
    def masked_access_key_id(self) -> str:
        key = self.access_key_id
        if len(key) <= 8:
            return "…" if key else ""
        return f"{key[:4]}…{key[-4:]}"
