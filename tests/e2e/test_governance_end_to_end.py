"""End to end with a Celery worker and a local Kinesis endpoint: consent withdrawn sends a
suppression record, consent regained the full record; a new policy stops a live dataflow
before its next forbidden record, and the fix resumes it."""

import json
import time

import pytest

from activation.export.services import dataflow_activate
from activation.models import AttributeMapping, Dataflow, DataflowSegment, DataflowStatus
from core.models import ApiToken
from governance.models import DataUsagePolicy, MarketingAction
from governance.seed import seed_core_now
from profiles.models import IdentityNamespace
from profiles.segments import segment_create
from tests.conftest import wait_for
from tests.e2e.conftest import STREAM
from tests.factories import ConnectionFactory, DataflowFactory
from tests.governance.conftest import consent_policy, label

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def post(client, token: str, email: str, attributes: dict) -> None:
    response = client.post(
        "/api/v1/profiles",
        data=json.dumps([{"identityMap": {"email": [{"id": email}]}, "attributes": attributes}]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content


def documents_for(kinesis, key: str) -> list[dict]:
    entries = sorted(kinesis.read_stream(STREAM), key=lambda e: e.sequence_number)
    return [e.document for e in entries if e.partition_key == key]


@pytest.fixture
def live_dataflow(user):
    seed_core_now()
    for code in ("ecid", "email", "phone", "crmid"):
        IdentityNamespace.objects.get_or_create(code=code, defaults={"name": code})
    gold = segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    connection = ConnectionFactory(owner=user, stream_name=STREAM)
    connection.marketing_actions.set(MarketingAction.objects.filter(code="export_to_third_party"))
    dataflow = DataflowFactory(connection=connection, partition_key_source="email")
    DataflowSegment.objects.create(dataflow=dataflow, segment=gold)
    for position, path in enumerate(("person.name.firstName", "person.birthDate")):
        AttributeMapping.objects.create(dataflow=dataflow, source_path=path, position=position)
    dataflow_activate(dataflow=dataflow)
    return dataflow, gold


def test_consent_withdrawn_then_regained(
    client, user, kinesis, celery_worker_process, live_dataflow
):
    _, gold = live_dataflow
    consent_policy()
    _, token = ApiToken.issue(user=user, name="e2e")
    consenting = {"loyalty": {"tier": "gold"}, "consents": {"marketing": {"email": True}}}
    post(client, token, "ann@example.com", {**consenting, "person": {"name": {"firstName": "Ann"}}})
    post(client, token, "bob@example.com", {"loyalty": {"tier": "gold"}})  # never consented
    wait_for(lambda: documents_for(kinesis, "ann@example.com"), seconds=60)

    post(client, token, "ann@example.com", {"consents": {"marketing": {"email": False}}})
    wait_for(lambda: len(documents_for(kinesis, "ann@example.com")) == 2, seconds=60)
    suppression = documents_for(kinesis, "ann@example.com")[-1]
    assert "person" not in suppression
    assert suppression["identityMap"] == {"email": [{"id": "ann@example.com"}]}
    assert suppression["segmentMembership"]["ups"][str(gold.pk)]["status"] == "exited"

    post(client, token, "ann@example.com", {"consents": {"marketing": {"email": True}}})
    wait_for(lambda: len(documents_for(kinesis, "ann@example.com")) == 3, seconds=60)
    full = documents_for(kinesis, "ann@example.com")[-1]
    assert full["person"] == {"name": {"firstName": "Ann"}}
    assert full["segmentMembership"]["ups"][str(gold.pk)]["status"] in ("realized", "existing")
    assert documents_for(kinesis, "bob@example.com") == []  # excluded: no consent


def test_a_new_policy_stops_a_live_dataflow_before_the_next_forbidden_record(
    client, user, kinesis, celery_worker_process, live_dataflow
):
    dataflow, _ = live_dataflow
    _, token = ApiToken.issue(user=user, name="e2e")
    gold = {"loyalty": {"tier": "gold"}}
    post(client, token, "ann@example.com", {**gold, "person": {"birthDate": "1970-01-01"}})
    wait_for(lambda: documents_for(kinesis, "ann@example.com"), seconds=60)

    label("person.birthDate", "S3")  # the core "Sensitive data never goes to third parties"
    assert Dataflow.objects.get(pk=dataflow.pk).status == DataflowStatus.POLICY_VIOLATION
    post(client, token, "ann@example.com", {"person": {"birthDate": "1971-01-01"}})
    post(client, token, "cid@example.com", {**gold, "person": {"birthDate": "1990-01-01"}})
    # The worker sees the changes and sends nothing while the violation stands.
    time.sleep(3)
    assert len(documents_for(kinesis, "ann@example.com")) == 1
    assert documents_for(kinesis, "cid@example.com") == []

    policy = DataUsagePolicy.objects.get(name__startswith="Sensitive")
    policy.enabled = False
    policy.save()  # a governance change: re-evaluated, resumed, what changed is sent
    wait_for(lambda: documents_for(kinesis, "cid@example.com"), seconds=60)
    wait_for(lambda: len(documents_for(kinesis, "ann@example.com")) == 2, seconds=60)
    assert documents_for(kinesis, "ann@example.com")[-1]["person"]["birthDate"] == "1971-01-01"
    assert Dataflow.objects.get(pk=dataflow.pk).status == DataflowStatus.ENABLED
