"""Governance writes (audited) and the checks other apps call: Finish, edits, the runner."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from activation.models import Dataflow
from activation.services import DataflowError
from audit.context import current_actor
from audit.models import Action, AuditEntry
from governance.evaluation import DataUse, SegmentUse, Violation, evaluate
from governance.models import (
    ConsentPolicy,
    DataUsageLabel,
    DataUsagePolicy,
    LabelAssignment,
    MarketingAction,
)
from profiles.rules import validate_rule

AUDIT_POLICY = "data_usage_policy"
AUDIT_CONSENT = "consent_policy"
AUDIT_LABEL = "label"
DEFAULT_MARKETING_ACTION = "export_to_third_party"


class PolicyViolationError(DataflowError):
    """Finish (or an edit) refused: the dataflow would break data-usage policies."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        names = ", ".join(f"“{v.policy}”" for v in violations)
        super().__init__(
            f"Activation refused: {len(violations)} data-usage policy violation"
            f"{'s' if len(violations) != 1 else ''} ({names}). Fix them first."
        )


# --- what a dataflow uses ---------------------------------------------------------------


def connection_action_codes(connection: Any) -> frozenset[str]:
    if connection is None:
        return frozenset()
    return frozenset(connection.marketing_actions.values_list("code", flat=True))


def data_use_for_dataflow(dataflow: Dataflow) -> DataUse:
    """What a dataflow (a draft, an edit copy or a live one) sends, and what for."""
    identities = tuple(dataflow.identity_selections.values_list("namespace", "hashed"))
    return DataUse(
        marketing_actions=connection_action_codes(dataflow.connection),
        attributes=tuple(dataflow.attribute_mappings.values_list("source_path", flat=True)),
        identities=identities or None,
        segments=tuple(
            SegmentUse(str(row.segment_id), row.segment.name, row.segment.rule or {})
            for row in dataflow.mapped_segments.select_related("segment").order_by("id")
        ),
    )


def dataflow_violations(
    dataflow: Dataflow, *, actions: frozenset[str] | None = None
) -> list[Violation]:
    """The policies the dataflow breaks (cheap when none applies to its connection: the
    runner asks before every chunk). `actions`: the connection's, when already read."""
    if actions is None:
        actions = connection_action_codes(dataflow.connection)
    applies = DataUsagePolicy.objects.filter(enabled=True, marketing_action__code__in=actions)
    if not actions or not applies.exists():
        return []
    return evaluate(data_use_for_dataflow(dataflow))


def dataflow_require_compliant(dataflow: Dataflow) -> None:
    """Raise PolicyViolationError when the dataflow would break a policy (Finish, edits)."""
    violations = dataflow_violations(dataflow)
    if violations:
        raise PolicyViolationError(violations)


def connection_default_marketing_actions(connection: Any) -> None:
    action = MarketingAction.objects.filter(code=DEFAULT_MARKETING_ACTION).first()
    if action is not None:
        connection.marketing_actions.add(action)


# --- audited writes ----------------------------------------------------------------------


def _audit(kind: str, obj: Any, action: str, before: dict | None, after: dict | None) -> None:
    actor = current_actor()
    changes = [
        {"field": key, "before": (before or {}).get(key), "after": (after or {}).get(key)}
        for key in sorted(set(before or {}) | set(after or {}))
        if (before or {}).get(key) != (after or {}).get(key)
    ]
    if before is not None and after is not None and not changes:
        return
    AuditEntry.objects.create(
        actor=actor.user,
        actor_name=actor.name,
        via=actor.via,
        action=action,
        object_type=kind,
        object_id=obj.pk,
        object_name=str(obj)[:200],
        before=before,
        after=after,
        changes=changes,
    )


def policy_state(policy: DataUsagePolicy) -> dict:
    return {
        "name": policy.name,
        "description": policy.description,
        "marketing_action": policy.marketing_action.code,
        "operator": policy.operator,
        "labels": sorted(label.code for label in policy.labels.all()),
        "enabled": policy.enabled,
    }


@transaction.atomic
def policy_save(
    *,
    policy: DataUsagePolicy | None,
    name: str,
    description: str,
    marketing_action: MarketingAction,
    operator: str,
    labels: list[DataUsageLabel],
    enabled: bool,
) -> DataUsagePolicy:
    """Create or edit a policy (core policies: only enable/disable)."""
    if not labels:
        raise ValidationError({"labels": "Choose at least one label."})
    if operator not in ("and", "or"):
        raise ValidationError({"operator": "Use and or or."})
    before = policy_state(policy) if policy else None
    if (
        policy is not None
        and policy.core
        and before
        and (
            name != policy.name
            or marketing_action != policy.marketing_action
            or operator != policy.operator
            or sorted(label.code for label in labels) != before["labels"]
        )
    ):
        raise ValidationError({"name": "A core policy cannot be edited; enable or disable it."})
    policy = policy or DataUsagePolicy()
    policy.name, policy.description = name.strip(), description
    policy.marketing_action, policy.operator, policy.enabled = marketing_action, operator, enabled
    policy.full_clean(exclude=["labels"])
    policy.save()
    policy.labels.set(labels)
    after = policy_state(policy)
    _audit(
        AUDIT_POLICY,
        policy,
        Action.CREATED if before is None else _edit_action(before, after),
        before,
        after,
    )
    return policy


def _edit_action(before: dict, after: dict) -> str:
    if (
        before.get("enabled") != after.get("enabled")
        and len([k for k in after if before.get(k) != after.get(k)]) == 1
    ):
        return Action.ENABLED if after["enabled"] else Action.DISABLED
    return Action.EDITED


@transaction.atomic
def policy_set_enabled(*, policy: DataUsagePolicy, enabled: bool) -> DataUsagePolicy:
    before = policy_state(policy)
    policy.enabled = enabled
    policy.save(update_fields=["enabled", "updated_at"])
    _audit(
        AUDIT_POLICY,
        policy,
        Action.ENABLED if enabled else Action.DISABLED,
        before,
        policy_state(policy),
    )
    return policy


@transaction.atomic
def policy_delete(*, policy: DataUsagePolicy) -> None:
    if policy.core:
        raise ValidationError({"name": "A core policy cannot be deleted; disable it."})
    before = policy_state(policy)
    _audit(AUDIT_POLICY, policy, Action.DELETED, before, None)
    policy.delete()


def consent_state(policy: ConsentPolicy) -> dict:
    return {
        "name": policy.name,
        "description": policy.description,
        "marketing_actions": sorted(a.code for a in policy.marketing_actions.all()),
        "condition": policy.condition,
        "enabled": policy.enabled,
    }


@transaction.atomic
def consent_policy_save(
    *,
    policy: ConsentPolicy | None,
    name: str,
    description: str,
    marketing_actions: list[MarketingAction],
    condition: Any,
    enabled: bool,
) -> ConsentPolicy:
    errors = validate_rule(condition)
    if errors:
        raise ValidationError({"condition": "; ".join(str(e) for e in errors)})
    if not marketing_actions:
        raise ValidationError({"marketing_actions": "Choose at least one marketing action."})
    before = consent_state(policy) if policy else None
    policy = policy or ConsentPolicy()
    policy.name, policy.description = name.strip(), description
    policy.condition, policy.enabled = condition, enabled
    policy.full_clean(exclude=["marketing_actions"])
    policy.save()
    policy.marketing_actions.set(marketing_actions)
    after = consent_state(policy)
    _audit(
        AUDIT_CONSENT,
        policy,
        Action.CREATED if before is None else _edit_action(before, after),
        before,
        after,
    )
    return policy


@transaction.atomic
def label_create(*, code: str, name: str, family: str, description: str = "") -> DataUsageLabel:
    label = DataUsageLabel(
        code=code.strip(), name=name.strip(), family=family, description=description
    )
    label.full_clean()
    label.save()
    _audit(
        AUDIT_LABEL,
        label,
        Action.CREATED,
        None,
        {"code": label.code, "name": label.name, "family": label.family},
    )
    return label


@transaction.atomic
def marketing_action_create(*, code: str, name: str, description: str = "") -> MarketingAction:
    action = MarketingAction(code=code.strip(), name=name.strip(), description=description)
    action.full_clean()
    action.save()
    return action


@transaction.atomic
def labels_set(*, target_type: str, target: str, labels: list[DataUsageLabel]) -> None:
    """The labels on one attribute path or namespace become exactly `labels` (audited)."""
    target = target.strip()
    if not target:
        raise ValidationError({"target": "Name the path or namespace."})
    current = LabelAssignment.objects.filter(target_type=target_type, target=target)
    before = sorted(current.values_list("label__code", flat=True))
    wanted = {label.code: label for label in labels}
    current.exclude(label__code__in=list(wanted)).delete()
    for label in labels:
        LabelAssignment.objects.get_or_create(label=label, target_type=target_type, target=target)
    after = sorted(wanted)
    if before != after:
        actor = current_actor()
        AuditEntry.objects.create(
            actor=actor.user,
            actor_name=actor.name,
            via=actor.via,
            action=Action.EDITED,
            object_type=AUDIT_LABEL,
            object_id=0,
            object_name=f"{target_type} {target}"[:200],
            before={"labels": before},
            after={"labels": after},
            changes=[{"field": "labels", "before": before, "after": after}],
        )
