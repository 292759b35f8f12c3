"""Data governance (SPEC §8): data-usage labels, marketing actions, policies, consent.

- A `DataUsageLabel` (contract, identity or sensitive family) is put on attribute
  paths and identity namespaces by a `LabelAssignment`; a label on `person`
  covers everything under it.
- A connection declares the `MarketingAction`s its data is used for
  (destinations.Connection.marketing_actions).
- A `DataUsagePolicy` forbids one marketing action on data carrying a label
  expression (labels joined by AND or OR).
- A `ConsentPolicy` keeps profiles that do not meet a condition (segment rule
  language, profiles/rules.py) out of the exports of connections with one of
  its marketing actions.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LabelFamily(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    IDENTITY = "identity", _("Identity")
    SENSITIVE = "sensitive", _("Sensitive")


class DataUsageLabel(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=16, choices=LabelFamily.choices)
    description = models.TextField(blank=True)
    # Seeded by migration: read-only in the UI and the API.
    core = models.BooleanField(default=False)

    class Meta:
        ordering = ["family", "code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class MarketingAction(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    core = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssignmentTarget(models.TextChoices):
    ATTRIBUTE = "attribute", _("Attribute path")
    NAMESPACE = "namespace", _("Identity namespace")


class LabelAssignment(models.Model):
    """A label on an attribute path (and everything under it) or an identity namespace."""

    label = models.ForeignKey(DataUsageLabel, on_delete=models.CASCADE, related_name="assignments")
    target_type = models.CharField(max_length=16, choices=AssignmentTarget.choices)
    target = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target_type", "target", "label__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["label", "target_type", "target"], name="label_assignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label.code} on {self.target_type} {self.target}"


class LabelOperator(models.TextChoices):
    OR = "or", _("any of the labels (OR)")
    AND = "and", _("all of the labels (AND)")


class DataUsagePolicy(models.Model):
    """`marketing_action` may not be used on data carrying `labels` (joined by `operator`)."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    marketing_action = models.ForeignKey(
        MarketingAction, on_delete=models.PROTECT, related_name="policies"
    )
    operator = models.CharField(max_length=3, choices=LabelOperator.choices, default="or")
    labels = models.ManyToManyField(DataUsageLabel, related_name="policies")
    enabled = models.BooleanField(default=True)
    core = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "data usage policies"

    def __str__(self) -> str:
        return self.name

    def expression(self) -> str:
        joiner = " AND " if self.operator == LabelOperator.AND else " OR "
        return joiner.join(sorted(label.code for label in self.labels.all()))


class ConsentPolicy(models.Model):
    """For connections with one of `marketing_actions`, export only profiles meeting `condition`."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    marketing_actions = models.ManyToManyField(MarketingAction, related_name="consent_policies")
    # A segment rule (profiles/rules.py), e.g. consents.marketing.email equals true.
    condition = models.JSONField()
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "consent policies"

    def __str__(self) -> str:
        return self.name


class ConsentSuppression(models.Model):
    """A profile this dataflow sent a suppression record for (consent withdrawn after an
    export): it gets no second one, and is exported normally again once it consents."""

    dataflow = models.ForeignKey(
        "activation.Dataflow", on_delete=models.CASCADE, related_name="consent_suppressions"
    )
    profile_id = models.BigIntegerField()
    suppressed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataflow", "profile_id"], name="consent_suppression_unique"
            )
        ]

    def __str__(self) -> str:
        return f"profile {self.profile_id} suppressed in dataflow {self.dataflow_id}"
