"""The core labels, marketing actions and policies (data migration 0002, demo, tests)."""

from typing import Any

LABELS = [
    (
        "C1",
        "No export to third party",
        "contract",
        "An agreement forbids giving it to third parties.",
    ),
    ("C2", "No e-mail targeting", "contract", "An agreement forbids using it to target e-mails."),
    ("C4", "No onsite personalisation", "contract", "An agreement forbids onsite personalisation."),
    ("C5", "No cross-site targeting", "contract", "An agreement forbids cross-site targeting."),
    ("I1", "Directly identifiable", "identity", "Identifies a person: e-mail, phone, name."),
    (
        "I2",
        "Indirectly identifiable",
        "identity",
        "Identifies a person with other data: device ids.",
    ),
    ("S1", "Precise location", "sensitive", "Location to street level."),
    ("S2", "Health", "sensitive", "Health data."),
    ("S3", "Sensitive personal data", "sensitive", "Age, birth date and other sensitive facts."),
]
ACTIONS = [
    ("export_to_third_party", "Export to third party", "The data leaves for another company."),
    ("email_targeting", "E-mail targeting", "Choosing who receives which e-mail."),
    ("onsite_personalisation", "Onsite personalisation", "Tailoring our own sites."),
    ("cross_site_targeting", "Cross-site targeting", "Targeting people on other sites."),
    ("analytics", "Analytics", "Measurement and reporting."),
]
# name, action, operator, labels, description
POLICIES = [
    (
        "Contract: no export to third party",
        "export_to_third_party",
        "or",
        ["C1"],
        "Data under a no-third-party agreement stays in house.",
    ),
    (
        "Contract: no e-mail targeting",
        "email_targeting",
        "or",
        ["C2"],
        "Data under a no-e-mail agreement is not used to target e-mails.",
    ),
    (
        "Contract: no onsite personalisation",
        "onsite_personalisation",
        "or",
        ["C4"],
        "Data under a no-personalisation agreement is not used on our sites.",
    ),
    (
        "Contract: no cross-site targeting",
        "cross_site_targeting",
        "or",
        ["C5"],
        "Data under a no-cross-site agreement is not used on other sites.",
    ),
    (
        "Sensitive data never goes to third parties",
        "export_to_third_party",
        "or",
        ["S1", "S2", "S3"],
        "Location, health and other sensitive data are not exported to third parties.",
    ),
    (
        "No identifiable location for cross-site targeting",
        "cross_site_targeting",
        "and",
        ["I1", "S1"],
        "A person's identity together with their precise location is not used across sites.",
    ),
]


def seed_core(label_model: Any, action_model: Any, policy_model: Any) -> dict[str, Any]:
    """Create what is missing (by code or name); the marketing actions by code."""
    labels = {}
    for code, name, family, description in LABELS:
        labels[code], _ = label_model.objects.get_or_create(
            code=code,
            defaults={"name": name, "family": family, "description": description, "core": True},
        )
    actions = {}
    for code, name, description in ACTIONS:
        actions[code], _ = action_model.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "core": True}
        )
    for name, action, operator, codes, description in POLICIES:
        policy, created = policy_model.objects.get_or_create(
            name=name,
            defaults={
                "marketing_action": actions[action],
                "operator": operator,
                "description": description,
                "core": True,
            },
        )
        if created:
            policy.labels.set([labels[code] for code in codes])
    return actions


def seed_core_now() -> dict[str, Any]:
    from governance.models import DataUsageLabel, DataUsagePolicy, MarketingAction

    return seed_core(DataUsageLabel, MarketingAction, DataUsagePolicy)
