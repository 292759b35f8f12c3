"""Consent in the export: no consent -> excluded; withdrawn after an export -> one
suppression record; consent regained -> the full record again."""

import pytest

from activation.models import RunIssue
from governance.consent import members_without_consent
from governance.models import ConsentSuppression
from tests.activation.export.conftest import dataflow_for, documents, export, upsert, vip_segment
from tests.governance.conftest import consent_policy, declare

pytestmark = pytest.mark.django_db(transaction=True)


def gold(consents: bool, **more) -> dict:
    return {"loyalty": {"tier": "gold"}, "consents": {"marketing": {"email": consents}}, **more}


def test_backfill_skips_members_without_consent_counted_as_no_consent(catalogue, sink):
    segment = vip_segment()
    yes = upsert("yes@example.com", gold(True, person={"name": {"firstName": "Yes"}}))
    no = upsert("no@example.com", gold(False))
    flow = dataflow_for([segment], activate=False)
    declare(flow.connection, "export_to_third_party")
    consent_policy()
    assert members_without_consent(dataflow=flow) == 1
    from activation.export.services import dataflow_activate

    dataflow_activate(dataflow=flow)
    report = export(flow, sink)
    assert [d["identityMap"]["email"][0]["id"] for d in documents(sink)] == ["yes@example.com"]
    assert report.excluded == 1
    issue = RunIssue.objects.get(profile_id=no)
    assert (issue.error_code, issue.reason) == ("no_consent", "no consent")
    assert not RunIssue.objects.filter(profile_id=yes).exists()


def test_a_consent_policy_of_another_marketing_action_does_not_apply(catalogue, sink):
    flow = dataflow_for([vip_segment()])
    upsert("no@example.com", gold(False))
    declare(flow.connection, "analytics")
    consent_policy(actions=("email_targeting",))
    assert members_without_consent(dataflow=flow) == 0
    export(flow, sink)
    assert len(documents(sink)) == 1


def test_withdrawal_sends_one_suppression_record_and_regained_consent_the_full_record(
    catalogue, sink
):
    flow = dataflow_for([vip_segment()])
    declare(flow.connection, "export_to_third_party")
    consent_policy()
    profile = upsert("ann@example.com", gold(True, person={"name": {"firstName": "Ann"}}))
    export(flow, sink)
    [full] = documents(sink)
    assert full["person"]["name"]["firstName"] == "Ann"

    upsert("ann@example.com", {"consents": {"marketing": {"email": False}}})
    export(flow, sink)
    suppression = documents(sink)[-1]
    assert "person" not in suppression
    assert suppression["identityMap"] == {"email": [{"id": "ann@example.com"}]}
    [(segment_id, entry)] = suppression["segmentMembership"]["ups"].items()
    assert entry["status"] == "exited"
    assert ConsentSuppression.objects.filter(dataflow=flow, profile_id=profile).exists()

    # Another change while suppressed: nothing is sent, it is counted as no consent.
    upsert("ann@example.com", {"person": {"name": {"firstName": "Annie"}}})
    report = export(flow, sink)
    assert len(documents(sink)) == 2
    assert report.excluded == 1

    upsert("ann@example.com", {"consents": {"marketing": {"email": True}}})
    export(flow, sink)
    back = documents(sink)[-1]
    assert back["person"]["name"]["firstName"] == "Annie"
    assert back["segmentMembership"]["ups"][segment_id]["status"] in ("realized", "existing")
    assert not ConsentSuppression.objects.filter(dataflow=flow).exists()
