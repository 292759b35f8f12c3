"""Connections to destinations (today: Amazon Kinesis Data Streams)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import crypto


class AuthMethod(models.TextChoices):
    ACCESS_KEYS = "access_keys", _("Access keys")
    IAM_ROLE = "iam_role", _("IAM role")


class Health(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked yet")
    OK = "ok", _("Healthy")
    FAILING = "failing", _("Failing")


class AwsCredentialFields(models.Model):
    """How a destination authenticates to AWS; the secret only as ciphertext."""

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
    # Learnt from STS GetCallerIdentity when allowed; fills the IAM policy helper.
    aws_account_id = models.CharField(max_length=12, blank=True)

    class Meta:
        abstract = True

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

    @property
    def uses_role(self) -> bool:
        return self.auth_method == AuthMethod.IAM_ROLE


class Connection(AwsCredentialFields):
    """Credentials and stream of one destination, owned by a user."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connections"
    )
    destination_type = models.CharField(max_length=32, default="kinesis")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    stream_name = models.CharField(max_length=128)
    include_segment_names = models.BooleanField(default=False)
    include_segment_timestamps = models.BooleanField(default=False)
    alerts_enabled = models.BooleanField(default=True)
    # What the data sent here is used for; data-usage policies forbid some (governance/).
    marketing_actions = models.ManyToManyField(
        "governance.MarketingAction", blank=True, related_name="connections"
    )
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.UNKNOWN)
    health_message = models.TextField(blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    # The last permission check, item by item (destinations/kinesis/permissions.py).
    check_report = models.JSONField(default=dict, blank=True)
    # The connect-wizard draft this connection was saved from: its address keeps leading here.
    created_from_draft = models.UUIDField(null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="connection_unique_owner_name")
        ]

    def __str__(self) -> str:
        return self.name


class ConnectionDraft(AwsCredentialFields):
    """Step 1 of the connect wizard, verified and waiting for step 2.

    The secret must reach step 2 without passing through the session or the
    HTML, so the wizard keeps it here (encrypted) and addresses the draft by an
    unguessable id; finishing turns it into a Connection and deletes it, and
    abandoned drafts are purged after a day.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connection_drafts"
    )
    destination_type = models.CharField(max_length=32, default="kinesis")
    # ListStreams' answer at verification time; the stream picker searches it.
    stream_names = models.JSONField(default=list, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"draft {self.id}"
