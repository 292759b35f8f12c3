"""UI: the review step's violations and consent count, Finish refused, the dataflow page,
the Data governance page (admins edit, others read), marketing actions on connections."""

from typing import Any

import pytest
from django.urls import reverse

from activation.models import Dataflow, DataflowStatus
from activation.services import dataflow_finish
from audit.models import AuditEntry
from governance.models import DataUsagePolicy, LabelAssignment
from tests.activation.wizard.conftest import member
from tests.activation.wizard.test_views import ready_draft, url
from tests.factories import UserFactory
from tests.governance.conftest import consent_policy, declare, label

pytestmark = pytest.mark.django_db


def test_review_shows_the_chain_and_finish_is_refused_until_fixed(
    logged_in_client: Any, user: Any, connection: Any, two_segments: Any, catalogue: Any
) -> None:
    label("personalEmail.address", "C1")
    declare(connection, "export_to_third_party")
    draft = ready_draft(user, connection, list(two_segments))
    page = logged_in_client.get(url("review", draft)).content.decode()
    assert "1 policy violation" in page
    assert "<code>personalEmail.address</code> → C1 No export to third party" in page
    assert "Fix: Unmap personalEmail.address." in page

    refused = logged_in_client.post(url("finish", draft), {"name": "Welcome"})
    assert refused.status_code == 400
    assert "Activation refused: 1 data-usage policy violation" in refused.content.decode()
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.DRAFT

    LabelAssignment.objects.all().delete()
    done = logged_in_client.post(url("finish", draft), {"name": "Welcome"})
    assert done.status_code == 302
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.ENABLED


def test_review_counts_the_members_consent_excludes(
    logged_in_client: Any, user: Any, connection: Any, two_segments: Any, catalogue: Any
) -> None:
    newsletter, vip = two_segments
    member(vip, attributes={"consents": {"marketing": {"email": True}}})
    declare(connection, "export_to_third_party")
    consent_policy()
    draft = ready_draft(user, connection, [newsletter, vip])
    page = logged_in_client.get(url("review", draft)).content.decode()
    # 4 distinct members without consent (the shared one counts once), 1 with.
    assert "4 members of the selected segments excluded by consent" in page
    assert "E-mail consent" in page


def test_the_dataflow_page_lists_policies_and_the_consent_policy(
    logged_in_client: Any, user: Any, connection: Any, two_segments: Any, catalogue: Any
) -> None:
    declare(connection, "export_to_third_party")
    consent_policy()
    live = dataflow_finish(
        dataflow=ready_draft(user, connection, list(two_segments)), user=user, name="Live"
    )
    page = logged_in_client.get(reverse("activation:dataflow_detail", args=[live.pk])).content
    text = page.decode()
    assert "Sensitive data never goes to third parties" in text
    assert "E-mail consent" in text


def test_the_governance_page_reads_for_everyone_and_edits_for_admins(
    client: Any, user: Any, catalogue: Any
) -> None:
    label("person", "S3")
    client.force_login(user)  # a Marketer
    page = client.get(reverse("governance:overview")).content.decode()
    assert "Data-usage policies" in page and "Only Admins change these." in page
    assert 'data-path="person"' in page
    forbidden = client.post(
        reverse("governance:labels_edit"),
        {"target_type": "attribute", "target": "person.birthDate", "labels": ["S3"]},
    )
    assert forbidden.status_code == 403

    client.force_login(UserFactory(username="boss", is_staff=True))
    saved = client.post(
        reverse("governance:labels_edit"),
        {"target_type": "attribute", "target": "person.birthDate", "labels": ["S3", "I1"]},
    )
    assert saved.status_code == 302
    assert set(
        LabelAssignment.objects.filter(target="person.birthDate").values_list(
            "label__code", flat=True
        )
    ) == {"S3", "I1"}
    policy = DataUsagePolicy.objects.get(name__startswith="Sensitive")
    client.post(reverse("governance:policy_toggle", args=[policy.pk]))
    policy.refresh_from_db()
    assert not policy.enabled
    assert AuditEntry.objects.filter(
        object_type="data_usage_policy", object_id=policy.pk, action="disabled"
    ).exists()
    created = client.post(
        reverse("governance:policy_create"),
        {
            "name": "No health analytics",
            "marketing_action": "analytics",
            "operator": "or",
            "labels": ["S2"],
            "enabled": "on",
        },
    )
    assert created.status_code == 302
    assert DataUsagePolicy.objects.get(name="No health analytics").expression() == "S2"
    client.post(
        reverse("governance:label_create"),
        {"code": "C9", "name": "No resale", "family": "contract"},
    )
    client.post(reverse("governance:action_create"), {"code": "resale", "name": "Resale"})
    page = client.get(reverse("governance:overview")).content.decode()
    assert "<strong>C9</strong> No resale" in page and "<code>resale</code>" in page
    bad = client.post(
        reverse("governance:consent_create"),
        {"name": "C", "marketing_actions": ["analytics"], "condition": "{not json"},
    )
    assert bad.status_code == 200 and "Not JSON" in bad.content.decode()


def test_a_label_lists_the_dataflows_that_export_it(
    logged_in_client: Any, user: Any, connection: Any, two_segments: Any, catalogue: Any
) -> None:
    label("person.name", "I1")
    dataflow_finish(
        dataflow=ready_draft(user, connection, list(two_segments)), user=user, name="Exporter"
    )
    page = logged_in_client.get(reverse("governance:overview")).content.decode()
    row = page[page.index("<strong>I1</strong>") :].split("</tr>")[0]
    assert "<code>person.name</code>" in row and "Exporter" in row


def test_the_connection_edit_page_changes_marketing_actions_and_re_evaluates(
    logged_in_client: Any,
    user: Any,
    connection: Any,
    two_segments: Any,
    catalogue: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Every governance change re-evaluates once its transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        label("personalEmail.address", "C1")
        declare(connection, "analytics")
        live = dataflow_finish(
            dataflow=ready_draft(user, connection, list(two_segments)), user=user, name="Live"
        )
        edit = reverse("destinations:edit", args=[connection.pk])
        page = logged_in_client.get(edit).content.decode()
        assert 'value="analytics"' in page and "Marketing actions" in page
        response = logged_in_client.post(
            edit,
            {
                "name": connection.name,
                "description": "",
                "alerts_enabled": "on",
                "marketing_actions": ["analytics", "export_to_third_party"],
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert set(connection.marketing_actions.values_list("code", flat=True)) == {
            "analytics",
            "export_to_third_party",
        }
    live.refresh_from_db()
    assert live.status == DataflowStatus.POLICY_VIOLATION


def test_django_admin_lists_every_governance_model_and_keeps_core_rows_read_only(
    admin_client: Any, catalogue: Any
) -> None:
    for model in ("datausagelabel", "marketingaction", "labelassignment", "datausagepolicy"):
        assert admin_client.get(f"/admin/governance/{model}/").status_code == 200
    core = DataUsagePolicy.objects.get(name__startswith="Sensitive")
    page = admin_client.get(f"/admin/governance/datausagepolicy/{core.pk}/change/").content
    assert b'name="enabled"' in page and b'name="name"' not in page
