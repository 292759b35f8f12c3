"""The record format against SPEC §3: attributes, segmentMembership, identityMap, key."""

import datetime as dt
import hashlib
import json
import uuid

import pytest

from activation.export.records import (
    ExportContext,
    ProfileSnapshot,
    SegmentInfo,
    UnbuildableRecord,
    build_record,
    record_for_profile,
)
from activation.models import DataflowSegment
from profiles.models import Profile
from tests.activation.export.conftest import dataflow_for, upsert, vip_segment

SEGMENT_A = "7841ba61-23c1-4bb3-a495-00d3a5fe1e93"
SEGMENT_B = "59bd2f0d-3c48-4b18-bf56-4f5c5e6967ae"
UNMAPPED = "11111111-1111-1111-1111-111111111111"
QUALIFIED = dt.datetime(2020, 5, 25, 21, 24, 39, 123456, tzinfo=dt.UTC)
INFO_A = SegmentInfo(
    name="Hot leads",
    created_ms=1590000000000,
    updated_ms=1590000001000,
    mapping_created_ms=1590000002000,
    mapping_updated_ms=1590000003000,
)
INFO_B = SegmentInfo("Churned", 1, 2, 3, 4)


def context(**overrides) -> ExportContext:
    fields = {
        "dataflow_id": 1,
        "attributes": (
            (("person", "birthDate"), ("person", "birthDate")),
            (("person", "name", "firstName"), ("person", "name", "firstName")),
            (("person", "name", "lastName"), ("person", "name", "lastName")),
            (("personalEmail", "address"), ("personalEmail", "address")),
        ),
        "namespaces": (("ecid", False), ("email", True)),
        "segments": {SEGMENT_A: INFO_A, SEGMENT_B: INFO_B},
        "partition_key_source": "ecid",
    }
    fields.update(overrides)
    return ExportContext(**fields)


def snapshot(**overrides) -> ProfileSnapshot:
    fields = {
        "profile_id": 42,
        "attributes": {
            "person": {
                "birthDate": "1980-01-02",
                "name": {"firstName": "John", "lastName": "Doe"},
                "gender": "unmapped",
            },
            "personalEmail": {"address": "john.doe@acme.com"},
            "loyalty": {"points": 12},
        },
        "identities": [
            ("ecid", "14575006536349286404619648085736425115"),
            ("email", "John.Doe@Acme.com"),
            ("crmid", "C-1"),
        ],
        "memberships": {
            SEGMENT_A: ("exited", QUALIFIED),
            SEGMENT_B: ("existing", QUALIFIED + dt.timedelta(hours=2)),
            UNMAPPED: ("realized", QUALIFIED),
        },
    }
    fields.update(overrides)
    return ProfileSnapshot(**fields)


def document_of(record) -> dict:
    return json.loads(record.data)


def test_it_builds_the_reference_document():
    record = build_record(context(), snapshot(), record_id="rec-1")

    assert document_of(record) == {
        "_id": "rec-1",
        "person": {"birthDate": "1980-01-02", "name": {"firstName": "John", "lastName": "Doe"}},
        "personalEmail": {"address": "john.doe@acme.com"},
        "segmentMembership": {
            "ups": {
                SEGMENT_A: {"lastQualificationTime": "2020-05-25T21:24:39Z", "status": "exited"},
                SEGMENT_B: {"lastQualificationTime": "2020-05-25T23:24:39Z", "status": "existing"},
            }
        },
        "identityMap": {
            "ecid": [{"id": "14575006536349286404619648085736425115"}],
            "email_lc_sha256": [
                {"id": hashlib.sha256(b"john.doe@acme.com").hexdigest()},
            ],
        },
    }
    assert record.partition_key == "14575006536349286404619648085736425115"


def test_it_is_compact_utf8_json_and_counts_bytes():
    attributes = {"person": {"name": {"firstName": "Zoë 🚀", "lastName": "Ŝ"}}}
    record = build_record(context(), snapshot(attributes=attributes), record_id="r")

    assert b": " not in record.data and b", " not in record.data
    assert "Zoë 🚀".encode() in record.data
    assert record.size_bytes == len(record.data) + len(record.partition_key.encode())
    assert record.size_bytes > len(record.text) + len(record.partition_key)


def test_segment_names_toggle_adds_names():
    record = build_record(context(include_names=True), snapshot())

    ups = document_of(record)["segmentMembership"]["ups"]
    assert ups[SEGMENT_A]["name"] == "Hot leads"
    assert "createdAt" not in ups[SEGMENT_A]


def test_segment_timestamps_toggle_adds_unix_milliseconds():
    record = build_record(context(include_timestamps=True), snapshot())

    entry = document_of(record)["segmentMembership"]["ups"][SEGMENT_A]
    assert entry == {
        "lastQualificationTime": "2020-05-25T21:24:39Z",
        "status": "exited",
        "createdAt": 1590000000000,
        "updatedAt": 1590000001000,
        "mappingCreatedAt": 1590000002000,
        "mappingUpdatedAt": 1590000003000,
    }


def test_only_mapped_segments_and_selected_namespaces_appear():
    document = document_of(build_record(context(), snapshot()))

    assert UNMAPPED not in document["segmentMembership"]["ups"]
    assert "crmid" not in document["identityMap"]


def test_no_namespace_selection_exports_every_identity_as_is():
    document = document_of(build_record(context(namespaces=None), snapshot()))

    assert document["identityMap"] == {
        "ecid": [{"id": "14575006536349286404619648085736425115"}],
        "email": [{"id": "John.Doe@Acme.com"}],
        "crmid": [{"id": "C-1"}],
    }


def test_attributes_can_be_renamed_to_a_target_path():
    renamed = context(
        attributes=((("personalEmail", "address"), ("contact", "email")),),
    )
    document = document_of(build_record(renamed, snapshot()))

    assert document["contact"] == {"email": "john.doe@acme.com"}
    assert "personalEmail" not in document


def test_missing_attributes_are_left_out():
    document = document_of(build_record(context(), snapshot(attributes={"person": {}})))

    assert "person" not in document and "personalEmail" not in document


def test_a_mapping_cannot_overwrite_the_builders_keys():
    hostile = context(attributes=((("loyalty",), ("identityMap",)), (("loyalty",), ("_id",))))
    document = document_of(build_record(hostile, snapshot(), record_id="mine"))

    assert document["_id"] == "mine"
    assert "ecid" in document["identityMap"]


def test_every_build_has_a_new_record_id():
    first = build_record(context(), snapshot())
    second = build_record(context(), snapshot())

    assert first.record_id != second.record_id
    assert document_of(first)["_id"] == first.record_id


def test_partition_key_falls_back_to_the_profile_id():
    record = build_record(context(), snapshot(identities=[("email", "a@b.c")]))

    assert record.partition_key == "42"


def test_partition_key_from_profile_id():
    record = build_record(context(partition_key_source="profile_id"), snapshot())

    assert record.partition_key == "42"


def test_partition_key_of_a_hashed_namespace_is_hashed():
    record = build_record(context(partition_key_source="email"), snapshot())

    assert record.partition_key == hashlib.sha256(b"john.doe@acme.com").hexdigest()


@pytest.mark.parametrize("length", [255, 256])
def test_partition_key_up_to_256_characters_is_kept(length):
    value = "k" * length
    record = build_record(context(), snapshot(identities=[("ecid", value)]))

    assert record.partition_key == value


def test_partition_key_of_257_characters_is_replaced_by_its_hash():
    value = "k" * 257
    record = build_record(context(), snapshot(identities=[("ecid", value)]))

    assert record.partition_key == hashlib.sha256(value.encode()).hexdigest()


def test_partition_key_of_256_multibyte_characters_is_kept():
    value = "é" * 256
    record = build_record(context(), snapshot(identities=[("ecid", value)]))

    assert record.partition_key == value
    assert record.size_bytes == len(record.data) + 512


@pytest.mark.django_db
def test_record_for_profile_reads_the_dataflow_and_connection_toggles():
    segment = vip_segment()
    profile_id = upsert(
        "ann@example.com",
        {"loyalty": {"tier": "gold"}, "person": {"name": {"firstName": "Ann"}}},
        crmid="C-9",
    )
    dataflow = dataflow_for(
        [segment],
        attributes=[("person.name.firstName", "first")],
        identities=[("email", True), ("crmid", False)],
        partition_key_source="crmid",
        activate=False,
    )
    dataflow.connection.include_segment_names = True
    dataflow.connection.include_segment_timestamps = True
    dataflow.connection.save()

    record = record_for_profile(dataflow=dataflow, profile_id=profile_id)

    mapping = DataflowSegment.objects.get(dataflow=dataflow)
    document = document_of(record)
    entry = document["segmentMembership"]["ups"][str(segment.pk)]
    assert document["first"] == "Ann"
    assert entry["status"] == "realized"
    assert entry["name"] == "VIP"
    assert entry["mappingCreatedAt"] == int(mapping.mapping_created_at.timestamp() * 1000)
    assert document["identityMap"] == {
        "crmid": [{"id": "C-9"}],
        "email_lc_sha256": [{"id": hashlib.sha256(b"ann@example.com").hexdigest()}],
    }
    assert record.partition_key == "C-9"


@pytest.mark.django_db
def test_record_for_a_missing_profile_raises():
    dataflow = dataflow_for([vip_segment()], activate=False)

    with pytest.raises(Profile.DoesNotExist):
        record_for_profile(dataflow=dataflow, profile_id=10**9)


def test_segment_ids_are_keyed_as_text():
    segment_id = str(uuid.uuid4())
    ctx = context(segments={segment_id: INFO_A})
    record = build_record(ctx, snapshot(memberships={segment_id: ("realized", QUALIFIED)}))

    assert list(document_of(record)["segmentMembership"]["ups"]) == [segment_id]


STDLIB_VALUES = [
    1e16,  # Python writes 1e+16, orjson 1e16
    -2.5e-7,  # 1e-07 and 1e-7
    1.7976931348623157e308,
    0.0001,
    123456.789,
    -0.0,
    2**64,  # beyond 64 bits: orjson refuses it
    -(2**63) - 1,
    2**63 - 1,
    'Zoë \u2028 \x1f \\ " / 🚀',
    [1.5, {"deep": [3e-9, True, None]}],
    {"nested": {"big": 10**30, "tiny": 5e-324}},
]


@pytest.mark.parametrize("value", STDLIB_VALUES, ids=repr)
def test_records_hold_the_bytes_json_dumps_writes(value):
    # The encoder is orjson where it writes the same bytes; the record never depends on it.
    attributes = {"loyalty": {"value": value}, "person": {"name": {"firstName": value}}}
    mapped = (
        (("loyalty",), ("loyalty",)),
        (("person", "name", "firstName"), ("person", "name", "firstName")),
    )
    record = build_record(
        context(attributes=mapped), snapshot(attributes=attributes), record_id="r"
    )

    expected = json.dumps(
        json.loads(record.data), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    assert record.data == expected.encode("utf-8")
    assert json.loads(record.data)["loyalty"] == {"value": value}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [float("-inf")]], ids=repr)
def test_a_value_json_cannot_hold_is_refused_not_written_as_null(value):
    with pytest.raises(UnbuildableRecord, match="not a JSON number"):
        build_record(context(), snapshot(attributes={"person": {"birthDate": value}}))
