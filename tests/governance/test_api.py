"""/api/v1/governance and governance in /api/v1/dataflows and /api/v1/connections."""

import pytest

from audit.models import AuditEntry
from core.models import ApiToken
from governance.models import DataUsagePolicy, LabelAssignment
from tests.api.conftest import ApiClient
from tests.api.test_dataflows import body
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory
from tests.governance.conftest import declare, label

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client, catalogue):
    admin = UserFactory(username="gov-admin", is_staff=True)
    _, token = ApiToken.issue(user=admin, name="tests")
    return ApiClient(client, token)


@pytest.fixture
def marketer_api(client, user, catalogue):
    _, token = ApiToken.issue(user=user, name="tests")
    return ApiClient(client, token)


def test_everyone_reads_the_catalogue(marketer_api):
    labels = marketer_api.get("/api/v1/governance/labels").body["items"]
    s3 = next(label for label in labels if label["code"] == "S3")
    assert (s3["family"], s3["core"]) == ("sensitive", True)
    actions = {
        a["code"] for a in marketer_api.get("/api/v1/governance/marketingActions").body["items"]
    }
    assert {"export_to_third_party", "email_targeting", "analytics"} <= actions
    policies = marketer_api.get("/api/v1/governance/policies").body["items"]
    sensitive = next(p for p in policies if p["name"].startswith("Sensitive"))
    assert sensitive["expression"] == "S1 OR S2 OR S3" and sensitive["core"]


def test_only_admins_change_governance(marketer_api):
    answer = marketer_api.post(
        "/api/v1/governance/labels", {"code": "X1", "name": "X", "family": "contract"}
    )
    assert answer.status == 403
    assert answer.error["code"] == "forbidden"
    answer = marketer_api.call(
        "PUT", "/api/v1/governance/paths/person.birthDate", {"labels": ["S3"]}
    )
    assert answer.status == 403
    assert not LabelAssignment.objects.exists()


def test_admin_labels_a_path_and_creates_edits_and_disables_a_policy(admin_api):
    answer = admin_api.call("PUT", "/api/v1/governance/paths/person.birthDate", {"labels": ["S3"]})
    assert answer.status == 200, answer.body
    assert admin_api.get("/api/v1/governance/paths").body["items"] == {"person.birthDate": ["S3"]}
    bad = admin_api.call("PUT", "/api/v1/governance/namespaces/email", {"labels": ["NOPE"]})
    assert bad.status == 400 and bad.error["fields"] == {"labels": "NOPE"}

    created = admin_api.post(
        "/api/v1/governance/policies",
        {"name": "No analytics on health", "marketingAction": "analytics", "labels": ["S2"]},
    )
    assert created.status == 201, created.body
    policy_id = created.body["id"]
    edited = admin_api.patch(
        f"/api/v1/governance/policies/{policy_id}", {"operator": "and", "labels": ["S2", "I1"]}
    )
    assert edited.body["expression"] == "I1 AND S2"
    disabled = admin_api.patch(f"/api/v1/governance/policies/{policy_id}", {"enabled": False})
    assert disabled.body["enabled"] is False
    actions = list(
        AuditEntry.objects.filter(object_type="data_usage_policy", object_id=policy_id)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "edited", "disabled"]


def test_a_core_policy_is_read_only_but_can_be_disabled(admin_api):
    core = DataUsagePolicy.objects.get(name__startswith="Sensitive")
    refused = admin_api.patch(f"/api/v1/governance/policies/{core.pk}", {"labels": ["S1"]})
    assert refused.status == 400
    assert "core policy" in refused.error["message"]
    assert (
        admin_api.patch(f"/api/v1/governance/policies/{core.pk}", {"enabled": False}).status == 200
    )


def test_consent_policies_validate_their_condition(admin_api):
    bad = admin_api.post(
        "/api/v1/governance/consentPolicies",
        {
            "name": "Consent",
            "marketingActions": ["email_targeting"],
            "condition": {"path": "consents.marketing.email", "op": "nope"},
        },
    )
    assert bad.status == 400
    assert "condition" in bad.error["fields"]
    good = admin_api.post(
        "/api/v1/governance/consentPolicies",
        {
            "name": "Consent",
            "marketingActions": ["email_targeting"],
            "condition": {"path": "consents.marketing.email", "op": "equals", "value": True},
        },
    )
    assert good.status == 201, good.body
    assert good.body["marketingActions"] == ["email_targeting"]


def test_evaluation_endpoint_answers_with_chains(marketer_api):
    label("person.birthDate", "S3")
    segment = SegmentFactory(rule={"path": "person.birthDate", "op": "lt", "value": "1980-01-01"})
    answer = marketer_api.post(
        "/api/v1/governance/evaluate",
        {
            "marketingActions": ["export_to_third_party"],
            "paths": ["person"],
            "segmentIds": [str(segment.pk)],
        },
    )
    assert answer.status == 200, answer.body
    [violation] = answer.body["violations"]
    kinds = {chain["sourceKind"] for chain in violation["chains"]}
    assert kinds == {"attribute", "segment"}
    assert all("→ Export to third party" in chain["text"] for chain in violation["chains"])
    missing = marketer_api.post("/api/v1/governance/evaluate", {"paths": ["x"]})
    assert missing.status == 400 and "marketingActions" in missing.error["fields"]


def test_a_dataflow_that_breaks_a_policy_is_refused_with_422(marketer_api, user):
    label("person.name", "S3")
    connection = ConnectionFactory(owner=user, name="Orders")
    declare(connection, "export_to_third_party")
    segments = (SegmentFactory(name="Buyers"), SegmentFactory(name="Churners"))
    answer = marketer_api.post("/api/v1/dataflows", body(connection, segments))
    assert answer.status == 422, answer.body
    error = answer.error  # the one error format, exactly
    assert error["code"] == "policy_violation"
    assert "person.name.firstName" in error["fields"]["profileSelectors"]
    [violation] = answer.body["detail"]["violations"]
    assert violation["chains"][0]["fix"] == "Unmap person.name.firstName."
    declare(connection, "analytics")
    assert marketer_api.post("/api/v1/dataflows", body(connection, segments)).status == 201


def test_connections_carry_marketing_actions(marketer_api, user):
    connection = ConnectionFactory(owner=user, name="Orders")
    declare(connection, "export_to_third_party")
    read = marketer_api.get(f"/api/v1/connections/{connection.pk}")
    assert read.body["marketingActions"] == ["export_to_third_party"]
    etag = read.body["etag"]
    changed = marketer_api.patch(
        f"/api/v1/connections/{connection.pk}",
        {"marketingActions": ["analytics", "email_targeting"]},
        etag=etag,
    )
    assert changed.status == 200, changed.body
    assert changed.body["marketingActions"] == ["analytics", "email_targeting"]
    bad = marketer_api.patch(
        f"/api/v1/connections/{connection.pk}",
        {"marketingActions": ["nope"]},
        etag=changed.body["etag"],
    )
    assert bad.status == 400 and "marketingActions" in bad.error["fields"]
