"""Governance fixtures: the core catalogue (a transactional test flushes the seeded rows)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from governance.models import (
    AssignmentTarget,
    ConsentPolicy,
    DataUsageLabel,
    LabelAssignment,
    MarketingAction,
)
from governance.seed import seed_core_now
from tests.activation.export.conftest import enqueued, sink  # noqa: F401 - fixtures
from tests.activation.wizard.conftest import connection, two_segments  # noqa: F401 - fixtures

EMAIL_CONSENT = {"path": "consents.marketing.email", "op": "equals", "value": True}


@pytest.fixture
def catalogue(db) -> dict[str, MarketingAction]:
    return seed_core_now()


def label(target: str, *codes: str, namespace: bool = False) -> None:
    kind = AssignmentTarget.NAMESPACE if namespace else AssignmentTarget.ATTRIBUTE
    for code in codes:
        LabelAssignment.objects.get_or_create(
            label=DataUsageLabel.objects.get(code=code), target_type=kind, target=target
        )


def declare(target, *codes: str) -> None:
    target.marketing_actions.set(MarketingAction.objects.filter(code__in=codes))


def consent_policy(actions: Iterable[str] = ("export_to_third_party",), **fields) -> ConsentPolicy:
    policy = ConsentPolicy.objects.create(
        name=fields.pop("name", "E-mail consent"), condition=fields.pop("condition", EMAIL_CONSENT)
    )
    policy.marketing_actions.set(MarketingAction.objects.filter(code__in=actions))
    return policy
