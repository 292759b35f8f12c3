"""Django admin deletes data usage policies through the service, so the audit log has them."""

import pytest
from django.urls import reverse

from audit.models import Action, AuditEntry
from governance.models import DataUsagePolicy, MarketingAction

pytestmark = pytest.mark.django_db


def test_deleting_a_policy_in_admin_is_audited(admin_client, catalogue) -> None:
    policy = DataUsagePolicy.objects.create(
        name="No e-mail to partners", marketing_action=MarketingAction.objects.first()
    )
    response = admin_client.post(
        reverse("admin:governance_datausagepolicy_delete", args=[policy.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not DataUsagePolicy.objects.filter(pk=policy.pk).exists()
    entry = AuditEntry.objects.get(object_type="data_usage_policy", object_id=policy.pk)
    assert (entry.action, entry.object_name, entry.after) == (
        Action.DELETED,
        "No e-mail to partners",
        None,
    )
