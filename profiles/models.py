"""The profile store: profiles, identities, segments, memberships, and the
change log that incremental export reads."""

import uuid
from typing import Any

from django.db import models


class CurrentTxid(models.Func):
    """The writing transaction's id as a column default (PostgreSQL); 0 elsewhere.

    See profiles/changes.py for why change capture needs it.
    """

    allowed_default = True
    output_field = models.BigIntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return "0", []

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return "(pg_current_xact_id()::text::bigint)", []


# Always known, even before the data migration that lists them in admin has run.
BUILTIN_NAMESPACES = {
    "ecid": "Experience Cloud ID (ECID)",
    "email": "Email",
    "phone": "Phone",
    "crmid": "CRM ID",
}


class IdentityNamespace(models.Model):
    """An identity namespace (ecid, email, phone, crmid, or one an admin registered)."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Profile(models.Model):
    """A person: nested XDM-style attributes plus identities and memberships."""

    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile {self.pk}"


class Identity(models.Model):
    """One identity of a profile; (namespace, value) identifies at most one profile."""

    # Indexed by (profile, namespace) below; a separate profile_id index would
    # only slow down ingestion.
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    namespace = models.CharField(max_length=64)
    value = models.CharField(max_length=512)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["namespace", "value"], name="identity_unique_ns_value")
        ]
        indexes = [models.Index(fields=["profile", "namespace"])]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.namespace}:{self.value}"


SEGMENT_NAME_MAX_LENGTH = 200
SEGMENT_DESCRIPTION_MAX_LENGTH = 5_000


class Segment(models.Model):
    """An audience defined by a rule over profile attributes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=SEGMENT_NAME_MAX_LENGTH)
    description = models.TextField(blank=True, max_length=SEGMENT_DESCRIPTION_MAX_LENGTH)
    rule = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    # When a batch evaluation last finished over every profile (None: never).
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipStatus(models.TextChoices):
    REALIZED = "realized", "Realized"
    EXISTING = "existing", "Existing"
    EXITED = "exited", "Exited"


# In the segment now: just entered (realized) or still in (existing). Exited rows are
# history, kept because their exit is exported. The one definition of "a member".
MEMBER_STATUSES = (MembershipStatus.REALIZED, MembershipStatus.EXISTING)


class SegmentMembership(models.Model):
    """A profile's standing in a segment; exited rows are kept (they are exported)."""

    # Both keys are covered by the unique (profile, segment) and the (segment,
    # status, profile) indexes; single-column indexes would only slow writes.
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    status = models.CharField(max_length=16, choices=MembershipStatus.choices)
    last_qualification_time = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "segment"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["segment", "status", "profile"])]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.segment_id}: {self.status}"


class ProfileChange(models.Model):
    """One committed write to a profile, recorded in the write's own transaction.

    ``txid`` is the writing transaction's id on PostgreSQL (``pg_current_xact_id``)
    and 0 on SQLite; readers use it to never skip a change whose transaction
    committed after a later id (see profiles/changes.py).
    """

    txid = models.BigIntegerField(db_default=CurrentTxid())
    profile = models.ForeignKey(
        Profile, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # Attribute paths written (even when the value stayed the same).
    written_paths = models.JSONField(default=list, blank=True)
    # Attribute paths whose value actually changed.
    changed_paths = models.JSONField(default=list, blank=True)
    identities_added = models.JSONField(default=list, blank=True)
    identities_removed = models.JSONField(default=list, blank=True)
    # {segment_id: new_status} for memberships that transitioned in this write.
    membership_changes = models.JSONField(default=dict, blank=True)
    # What wrote it: api, import, ui, demo, admin or segment (batch evaluation).
    source = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["txid", "id"], name="profilechange_cursor")]

    def __str__(self) -> str:
        return f"change {self.pk} of profile {self.profile_id}"
