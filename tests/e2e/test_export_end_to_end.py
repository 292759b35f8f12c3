"""End to end: profiles POSTed to the API reach the stream through a real Celery
worker on the real broker and a local Kinesis endpoint, read back with GetRecords."""

import hashlib
import json

import pytest

from activation.export.records import build_record
from activation.export.selectors import export_context_for, snapshots_for
from activation.export.services import dataflow_activate
from activation.models import AttributeMapping, DataflowSegment, DeliveryLog, IdentitySelection
from core.models import ApiToken
from profiles.models import IdentityNamespace, Profile
from profiles.segments import segment_create
from tests.conftest import wait_for
from tests.e2e.conftest import STREAM
from tests.factories import ConnectionFactory, DataflowFactory

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def post_profiles(client, token: str, records: list[dict]) -> dict:
    response = client.post(
        "/api/v1/profiles",
        data=json.dumps(records),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def record(email: str, tier: str, first_name: str) -> dict:
    return {
        "identityMap": {"email": [{"id": email}], "crmid": [{"id": f"crm-{email}"}]},
        "attributes": {
            "loyalty": {"tier": tier},
            "person": {"name": {"firstName": first_name, "lastName": "Tester"}},
            "personalEmail": {"address": email},
        },
    }


def expected_by_key(dataflow) -> dict[str, dict]:
    """What the exporter builds now for every profile, keyed by partition key, minus `_id`."""
    context = export_context_for(dataflow)
    ids = list(Profile.objects.values_list("id", flat=True))
    expected = {}
    for snapshot in snapshots_for(context, ids).values():
        built = build_record(context, snapshot, record_id="-")
        document = json.loads(built.data)
        document.pop("_id")
        expected[built.partition_key] = document
    return expected


def last_by_key(entries) -> dict[str, dict]:
    last = {}
    for entry in sorted(entries, key=lambda e: e.sequence_number):
        document = dict(entry.document)
        document.pop("_id")
        last[entry.partition_key] = document
    return last


def test_profiles_posted_to_the_api_stream_into_kinesis(
    client, user, kinesis, celery_worker_process
):
    for code in ("ecid", "email", "phone", "crmid"):
        IdentityNamespace.objects.get_or_create(code=code, defaults={"name": code})
    _, token = ApiToken.issue(user=user, name="e2e")
    gold = segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    connection = ConnectionFactory(
        owner=user, stream_name=STREAM, include_segment_names=True, include_segment_timestamps=True
    )
    dataflow = DataflowFactory(connection=connection, partition_key_source="crmid")
    DataflowSegment.objects.create(dataflow=dataflow, segment=gold)
    for position, path in enumerate(("person.name.firstName", "personalEmail.address")):
        AttributeMapping.objects.create(dataflow=dataflow, source_path=path, position=position)
    IdentitySelection.objects.create(dataflow=dataflow, namespace="email", hashed=True)
    IdentitySelection.objects.create(dataflow=dataflow, namespace="crmid")
    # One member before activation: the activation backfill exports it.
    post_profiles(client, token, [record("early@example.com", "gold", "Early")])
    dataflow_activate(dataflow=dataflow)

    post_profiles(
        client,
        token,
        [record(f"g{n}@example.com", "gold", f"Gölda {n}") for n in range(20)]
        + [record(f"s{n}@example.com", "silver", f"Silver {n}") for n in range(5)],
    )

    gold_keys = {"crm-early@example.com"} | {f"crm-g{n}@example.com" for n in range(20)}
    wait_for(
        lambda: {e.partition_key for e in kinesis.read_stream(STREAM)} >= gold_keys, seconds=60
    )
    entries = kinesis.read_stream(STREAM)
    assert {e.partition_key for e in entries} == gold_keys  # silver profiles never exported
    expected = expected_by_key(dataflow)
    assert last_by_key(entries) == {key: expected[key] for key in gold_keys}
    sample = last_by_key(entries)["crm-g3@example.com"]
    assert sample["person"] == {"name": {"firstName": "Gölda 3"}}
    assert sample["identityMap"]["email_lc_sha256"] == [
        {"id": hashlib.sha256(b"g3@example.com").hexdigest()}
    ]
    assert sample["segmentMembership"]["ups"][str(gold.pk)]["name"] == "Gold"
    # Each profile's records stay on one shard (the partition key is stable).
    shards: dict[str, set[str]] = {}
    for entry in entries:
        shards.setdefault(entry.partition_key, set()).add(entry.shard_id)
    assert all(len(found) == 1 for found in shards.values())

    # An unmapped attribute change exports nothing; a mapped one exports the
    # profile again. Runs read changes in commit order, so once the second is
    # in the stream the first has been decided.
    seen = {(e.shard_id, e.sequence_number) for e in entries}
    unmapped_only = {
        "identityMap": {"email": [{"id": "g1@example.com"}]},
        "attributes": {"hobby": "chess"},
    }
    post_profiles(client, token, [unmapped_only])
    post_profiles(client, token, [record("g2@example.com", "gold", "Renamed")])
    wait_for(
        lambda: (
            last_by_key(kinesis.read_stream(STREAM))["crm-g2@example.com"]["person"]
            == {"name": {"firstName": "Renamed"}}
        ),
        seconds=60,
    )
    after = kinesis.read_stream(STREAM)
    new_keys = [e.partition_key for e in after if (e.shard_id, e.sequence_number) not in seen]
    assert new_keys == ["crm-g2@example.com"]
    assert DeliveryLog.objects.filter(dataflow=dataflow).count() == len(after)
