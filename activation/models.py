"""Dataflows (segments activated to a connection), their export state and runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destinations.models import Connection
from profiles.models import Segment


class DataflowStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ENABLED = "enabled", _("Enabled")
    DISABLED = "disabled", _("Disabled")
    ERROR = "error", _("Error")
    # Stopped by governance: a data-usage policy forbids what it exports (governance/).
    POLICY_VIOLATION = "policy_violation", _("Policy violation")


# The statuses the exporter runs: Enabled, and Error (retried at `retry_at`).
RUNNABLE_STATUSES = (DataflowStatus.ENABLED, DataflowStatus.ERROR)
# The statuses whose change cursor holds the change log back from pruning: the
# runnable ones and Disabled (it sends what changed meanwhile once enabled again).
CHANGE_LOG_READER_STATUSES = (*RUNNABLE_STATUSES, DataflowStatus.DISABLED)
# The statuses governance re-evaluates: the runnable ones, and the ones it stopped.
GOVERNED_STATUSES = (*RUNNABLE_STATUSES, DataflowStatus.POLICY_VIOLATION)


def _lookups(prefix: str, **lookups: object) -> Q:
    return Q(**{prefix + name: value for name, value in lookups.items()})


class DataflowQuerySet(models.QuerySet["Dataflow"]):
    """The named sets of dataflows: every "which dataflows" question asks one of these.

    A row is one of three things. A **draft** (status Draft) is an unfinished
    wizard: either a **new draft** (`edit_of` empty), a dataflow that does not
    exist yet, or an **edit copy** (`edit_of` set), the edit of a live dataflow
    walked on a copy so the exporter never sees a half-edited mapping. Everything
    else is **live**: a dataflow, whatever its status (Enabled, Disabled, Error,
    Policy violation); the UI, the API, monitoring, governance, alerts and the
    metrics count and show only live ones. A deleted dataflow is gone (its row is
    deleted), so no set needs to leave it out.
    """

    @staticmethod
    def live_q(prefix: str = "") -> Q:
        """`live()` as a condition, for a relation (`prefix`, e.g. "dataflows__") or an
        aggregate's filter."""
        return _lookups(prefix, edit_of__isnull=True) & ~_lookups(
            prefix, status=DataflowStatus.DRAFT
        )

    def live(self) -> "DataflowQuerySet":
        """The dataflows: finished (not a draft) and not an edit copy, in any status."""
        return self.filter(self.live_q())

    def drafts(self) -> "DataflowQuerySet":
        """Every unfinished wizard: new drafts and edit copies."""
        return self.filter(status=DataflowStatus.DRAFT)

    def new_drafts(self) -> "DataflowQuerySet":
        """Drafts of dataflows that do not exist yet (discarded with their connection)."""
        return self.drafts().filter(edit_of__isnull=True)

    def edit_copies(self) -> "DataflowQuerySet":
        """Drafts editing a live dataflow (`edit_of`); finishing one applies it."""
        return self.drafts().filter(edit_of__isnull=False)

    def runnable(self) -> "DataflowQuerySet":
        """Live dataflows the exporter runs: Enabled, and Error (retried)."""
        return self.live().filter(status__in=RUNNABLE_STATUSES)

    @staticmethod
    def enabled_q(prefix: str = "") -> Q:
        """`enabled()` as a condition, like `live_q`."""
        return DataflowQuerySet.live_q(prefix) & _lookups(prefix, status=DataflowStatus.ENABLED)

    def enabled(self) -> "DataflowQuerySet":
        """Live dataflows in good standing that a profile change wakes at once (an
        Error one waits for its retry instead)."""
        return self.filter(self.enabled_q())

    def change_log_readers(self) -> "DataflowQuerySet":
        """Live dataflows whose cursor holds the change log: runnable and Disabled."""
        return self.live().filter(status__in=CHANGE_LOG_READER_STATUSES)

    def governed(self) -> "DataflowQuerySet":
        """Live dataflows governance re-evaluates: runnable and stopped by a policy."""
        return self.live().filter(status__in=GOVERNED_STATUSES)


class Dataflow(models.Model):
    """Segments of the profile store activated to one connection's stream."""

    connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="dataflows", null=True, blank=True
    )
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=DataflowStatus.choices, default=DataflowStatus.DRAFT
    )
    status_message = models.TextField(blank=True)
    segments = models.ManyToManyField(Segment, through="DataflowSegment", related_name="dataflows")
    # "profile_id" or an identity namespace code.
    partition_key_source = models.CharField(max_length=64, default="ecid")
    export_only_on_value_change = models.BooleanField(default=False)
    # Change-capture cursor: the last (txid, id) of profiles.ProfileChange handled.
    cursor_txid = models.BigIntegerField(default=0)
    cursor_change_id = models.BigIntegerField(default=0)
    # Run lock: a run holds it with an owner token until `locked_until`.
    lock_token = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Backfill progress in distinct profiles (the unit of the review and the KPIs): the
    # open backfills export `backfill_total` profiles, `backfill_done` of them so far,
    # since `backfill_started_at` (activation/export/services._backfill_progress_reset).
    backfill_total = models.PositiveIntegerField(default=0)
    backfill_done = models.PositiveIntegerField(default=0)
    backfill_started_at = models.DateTimeField(null=True, blank=True)
    # Export scheduling (activation/export/services.schedule_dataflow_run): a run task is queued
    # (debounce marker), when the last run started, and after a failed run the
    # earliest retry with the count and code of consecutive failures.
    run_scheduled_for = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dataflows"
    )
    # An edit of a live dataflow happens on a draft copy that points at it, so the
    # exporter never sees a half-edited mapping; finishing applies the copy at once.
    edit_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, related_name="edit_drafts", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DataflowQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        """A new draft or an edit copy (see DataflowQuerySet)."""
        return self.status == DataflowStatus.DRAFT

    @property
    def is_live(self) -> bool:
        """In `Dataflow.objects.live()`."""
        return not self.is_draft and self.edit_of_id is None

    @property
    def is_runnable(self) -> bool:
        """In `Dataflow.objects.runnable()`."""
        return self.is_live and self.status in RUNNABLE_STATUSES


class EditHandoverAction(models.TextChoices):
    TAKEN_OVER = "taken_over", _("took over")
    DISCARDED = "discarded", _("discarded")


class EditHandover(models.Model):
    """Another editor took over or discarded someone's unfinished edit of a live
    dataflow (activation/services.py); the previous editor is told when they
    come back (`seen_at` set then)."""

    dataflow = models.ForeignKey(Dataflow, on_delete=models.CASCADE, related_name="edit_handovers")
    # The edit copy's id, kept after a discard deleted it: its old URLs still explain.
    draft_id = models.BigIntegerField()
    action = models.CharField(max_length=16, choices=EditHandoverAction.choices)
    previous_editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    edit_started_at = models.DateTimeField()
    at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["previous_editor", "seen_at"])]

    def __str__(self) -> str:
        return f"{self.by} {self.get_action_display()} the edit of {self.dataflow}"


class DataflowSegment(models.Model):
    """A segment mapped to a dataflow, with the mapping's own timestamps."""

    dataflow = models.ForeignKey(Dataflow, on_delete=models.CASCADE, related_name="mapped_segments")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    # Set explicitly (not auto_now): an edit's draft copy carries the live mapping's
    # times, so the review sample shows what "Save changes" will send.
    mapping_created_at = models.DateTimeField(default=timezone.now)
    mapping_updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataflow", "segment"], name="dataflow_segment_unique")
        ]

    def __str__(self) -> str:
        return f"segment {self.segment_id} in dataflow {self.dataflow_id}"


class AttributeMapping(models.Model):
    """A profile attribute path exported by a dataflow (optionally renamed)."""

    dataflow = models.ForeignKey(
        Dataflow, on_delete=models.CASCADE, related_name="attribute_mappings"
    )
    source_path = models.CharField(max_length=500)
    target_path = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataflow", "source_path"], name="attribute_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_path} → {self.exported_path}"

    @property
    def exported_path(self) -> str:
        return self.target_path or self.source_path


class IdentitySelection(models.Model):
    """An identity namespace put into identityMap, optionally lower-cased + SHA-256."""

    dataflow = models.ForeignKey(
        Dataflow, on_delete=models.CASCADE, related_name="identity_selections"
    )
    namespace = models.CharField(max_length=64)
    hashed = models.BooleanField(default=False)

    class Meta:
        ordering = ["namespace"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataflow", "namespace"], name="identity_selection_unique"
            )
        ]

    def __str__(self) -> str:
        return self.exported_namespace

    @property
    def exported_namespace(self) -> str:
        return f"{self.namespace}_lc_sha256" if self.hashed else self.namespace


class BackfillStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    # The segment was unmapped before its backfill finished.
    CANCELLED = "cancelled", _("Cancelled")


class Backfill(models.Model):
    """Export of a segment's current members, resumable by profile-id cursor."""

    dataflow = models.ForeignKey(Dataflow, on_delete=models.CASCADE, related_name="backfills")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=16, choices=BackfillStatus.choices, default=BackfillStatus.PENDING
    )
    reason = models.CharField(max_length=32, default="activation")
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    last_profile_id = models.BigIntegerField(default=0)
    # Also export profiles that left the segment since then (with their "exited"
    # status): set when the change log was pruned past a disabled dataflow.
    exited_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"backfill of {self.segment_id} for dataflow {self.dataflow_id}"


class RunStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    SUCCESS = "success", _("Success")
    PARTIAL = "partial", _("Partial success")
    FAILED = "failed", _("Failed")


class ExportRun(models.Model):
    """A dataflow's export accounting for one hour (the reference's streaming run).

    Counters are distinct profiles, each in its final outcome for the window
    (activation/export/accounting.py): received = activated + excluded + failed.
    """

    dataflow = models.ForeignKey(Dataflow, on_delete=models.CASCADE, related_name="runs")
    window_start = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    processing_ms = models.BigIntegerField(default=0)
    profiles_received = models.PositiveIntegerField(default=0)
    identities_activated = models.PositiveIntegerField(default=0)
    identities_excluded = models.PositiveIntegerField(default=0)
    identities_failed = models.PositiveIntegerField(default=0)
    # Of the activated profiles, those that needed more than one attempt.
    delivered_after_retries = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.PROCESSING
    )

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.UniqueConstraint(fields=["dataflow", "window_start"], name="run_unique_window")
        ]
        indexes = [
            # Runs with failed profiles (few): every delivered chunk asks whether its
            # profiles failed in one of them (accounting._failures_resolve).
            models.Index(
                fields=["dataflow"],
                condition=models.Q(identities_failed__gt=0),
                name="exportrun_failing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataflow_id} @ {self.window_start:%Y-%m-%d %H:00}"


class RunIssueKind(models.TextChoices):
    EXCLUDED = "excluded", _("Excluded")
    FAILED = "failed", _("Failed")
    # Activated, but only after failed attempts (the attempts and the last error say which).
    RETRIED = "retried", _("Delivered after retries")


class RunIssue(models.Model):
    """A profile of a run window that was excluded, failed, or needed retries: one row per
    profile and window, in its final outcome, with its attempts and last error."""

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="issues")
    profile_id = models.BigIntegerField()
    identity = models.CharField(max_length=600, blank=True)
    kind = models.CharField(max_length=16, choices=RunIssueKind.choices)
    # The last error (or the reason of an exclusion).
    error_code = models.CharField(max_length=100)
    reason = models.TextField()
    # Sends of this profile's records in the window (0 for an exclusion: never sent).
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["run", "profile_id"], name="runissue_one_per_profile")
        ]
        indexes = [
            models.Index(fields=["run", "kind"]),
            # A run's newest issues first (the run page), without sorting all of them.
            models.Index(fields=["run", "id"], name="runissue_run_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.profile_id}: {self.error_code}"


class DeliveryLog(models.Model):
    """One record put into a stream for a profile."""

    dataflow = models.ForeignKey(Dataflow, on_delete=models.CASCADE, related_name="deliveries")
    profile_id = models.BigIntegerField()
    sent_at = models.DateTimeField()
    shard_id = models.CharField(max_length=128)
    sequence_number = models.CharField(max_length=128)
    # Why it was sent: backfill, segment, identity, attribute.
    reason = models.CharField(max_length=32)
    record_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            # A profile's deliveries (the delivery lookup), and whether a dataflow
            # delivered these profiles in an hour (accounting: one exact probe each).
            models.Index(fields=["profile_id", "dataflow", "sent_at"]),
            # A dataflow's deliveries by time (run pages, retention).
            models.Index(fields=["dataflow", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} → {self.shard_id}/{self.sequence_number}"
