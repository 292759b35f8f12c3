"""Demo governance (make run): the demo data's fields labelled, and one consent policy."""

from governance.models import (
    AssignmentTarget,
    ConsentPolicy,
    DataUsageLabel,
    LabelAssignment,
    MarketingAction,
)
from governance.seed import seed_core_now

DEMO_PATH_LABELS = {
    "person.name": ["I1"],
    "personalEmail.address": ["I1"],
    "mobilePhone.number": ["I1"],
    "person.birthDate": ["S3"],
    "homeAddress": ["I2"],
}
DEMO_NAMESPACE_LABELS = {"email": ["I1"], "phone": ["I1"], "ecid": ["I2"], "crmid": ["I2"]}
DEMO_CONSENT = {
    "name": "Marketing e-mail consent",
    "description": "Only profiles that accepted marketing are sent to third parties or "
    "targeted by e-mail.",
    "condition": {"path": "consents.marketing.email", "op": "equals", "value": True},
    "actions": ["export_to_third_party", "email_targeting"],
}


def governance_demo_ensure() -> None:
    """Idempotent: the core catalogue, the demo labels and the demo consent policy."""
    seed_core_now()
    labels = {label.code: label for label in DataUsageLabel.objects.all()}
    for kind, mapping in (
        (AssignmentTarget.ATTRIBUTE, DEMO_PATH_LABELS),
        (AssignmentTarget.NAMESPACE, DEMO_NAMESPACE_LABELS),
    ):
        for target, codes in mapping.items():
            for code in codes:
                LabelAssignment.objects.get_or_create(
                    label=labels[code], target_type=kind, target=target
                )
    policy, created = ConsentPolicy.objects.get_or_create(
        name=DEMO_CONSENT["name"],
        defaults={
            "description": DEMO_CONSENT["description"],
            "condition": DEMO_CONSENT["condition"],
        },
    )
    if created:
        policy.marketing_actions.set(
            MarketingAction.objects.filter(code__in=DEMO_CONSENT["actions"])
        )
