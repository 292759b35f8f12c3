"""The review's sample record is the exporter's record: SPEC §3's format through the
one builder (activation.export.records), for a dataflow set up by the wizard's services."""

import hashlib
import json
from typing import Any

import pytest

from activation import services
from activation.export.records import record_for_profile
from activation.models import DataflowSegment
from activation.services import AttributeSpec, IdentitySpec
from tests.activation.wizard.conftest import member
from tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db

EMAIL = "John.Doe@Acme.com"


@pytest.fixture
def setup(user: Any, connection: Any) -> dict:
    loyal = SegmentFactory(name="Loyal")
    other = SegmentFactory(name="Not mapped")
    profile = member(
        loyal,
        attributes={
            "person": {"name": {"firstName": "John", "lastName": "Doe"}, "birthDate": "1980-02-03"},
            "personalEmail": {"address": "john.doe@acme.com"},
            "unmapped": {"secret": "x"},
        },
        identities={"ecid": "14575006536349286404619648085736425115", "email": EMAIL},
    )
    member(other, profile=profile)
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[loyal.id])
    return {"draft": draft, "profile": profile, "segment": loyal}


def map_it(draft: Any, *, partition_key: str = "ecid", hash_email: bool = True) -> None:
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[
            AttributeSpec("person.name.firstName"),
            AttributeSpec("person.name.lastName"),
            AttributeSpec("personalEmail.address"),
            AttributeSpec("person.birthDate", "person.dob"),
        ],
        identities=[IdentitySpec("ecid"), IdentitySpec("email", hashed=hash_email)],
        partition_key_source=partition_key,
    )


def sha(value: str) -> str:
    return hashlib.sha256(value.lower().encode()).hexdigest()


def test_the_record_follows_spec_section_3(setup: dict) -> None:
    map_it(setup["draft"])
    record = record_for_profile(dataflow=setup["draft"], profile_id=setup["profile"].pk)
    document = json.loads(record.data)
    segment_id = str(setup["segment"].id)
    assert set(document) == {"_id", "person", "personalEmail", "segmentMembership", "identityMap"}
    assert document["person"] == {
        "name": {"firstName": "John", "lastName": "Doe"},
        "dob": "1980-02-03",
    }
    assert document["personalEmail"] == {"address": "john.doe@acme.com"}
    # Only mapped segments, with the qualification time in UTC "Z" and the status.
    assert document["segmentMembership"] == {
        "ups": {segment_id: {"lastQualificationTime": "2024-05-25T21:24:39Z", "status": "realized"}}
    }
    assert document["identityMap"] == {
        "ecid": [{"id": "14575006536349286404619648085736425115"}],
        "email_lc_sha256": [{"id": sha(EMAIL)}],
    }
    assert record.partition_key == "14575006536349286404619648085736425115"
    # Compact JSON, and the size counts Data plus PartitionKey in bytes.
    assert b": " not in record.data and b", " not in record.data
    assert record.size_bytes == len(record.data) + len(record.partition_key)


def test_segment_names_and_timestamps_follow_the_connection_toggles(setup: dict) -> None:
    connection = setup["draft"].connection
    connection.include_segment_names = True
    connection.include_segment_timestamps = True
    connection.save()
    map_it(setup["draft"])
    record = record_for_profile(dataflow=setup["draft"], profile_id=setup["profile"].pk)
    entry = json.loads(record.data)["segmentMembership"]["ups"][str(setup["segment"].id)]
    mapping = DataflowSegment.objects.get(dataflow=setup["draft"], segment=setup["segment"])
    segment = setup["segment"]
    assert entry["name"] == "Loyal"
    assert entry["createdAt"] == int(segment.created_at.timestamp() * 1000)
    assert entry["updatedAt"] == int(segment.updated_at.timestamp() * 1000)
    assert entry["mappingCreatedAt"] == int(mapping.mapping_created_at.timestamp() * 1000)
    assert entry["mappingUpdatedAt"] == int(mapping.mapping_updated_at.timestamp() * 1000)


def test_without_the_toggles_there_are_no_names_or_timestamps(setup: dict) -> None:
    map_it(setup["draft"])
    record = record_for_profile(dataflow=setup["draft"], profile_id=setup["profile"].pk)
    entry = json.loads(record.data)["segmentMembership"]["ups"][str(setup["segment"].id)]
    assert set(entry) == {"lastQualificationTime", "status"}


def test_an_unhashed_email_is_exported_as_is(setup: dict) -> None:
    map_it(setup["draft"], hash_email=False)
    record = record_for_profile(dataflow=setup["draft"], profile_id=setup["profile"].pk)
    assert json.loads(record.data)["identityMap"]["email"] == [{"id": EMAIL}]


def test_a_hashed_partition_key_namespace_is_hashed_too(setup: dict) -> None:
    map_it(setup["draft"], partition_key="email")
    record = record_for_profile(dataflow=setup["draft"], profile_id=setup["profile"].pk)
    assert record.partition_key == sha(EMAIL)
    assert EMAIL not in record.data.decode()  # the raw identity value is nowhere


def test_the_profile_id_can_be_the_partition_key(setup: dict) -> None:
    map_it(setup["draft"], partition_key="profile_id")
    record = record_for_profile(dataflow=setup["draft"], profile_id=setup["profile"].pk)
    assert record.partition_key == str(setup["profile"].pk)
