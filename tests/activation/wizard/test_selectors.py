"""Reads for the wizard: segment pages with sizes, the sampled schema, partition-key
defaults, coverage and the stream's capacity."""

from typing import Any

import pytest
from django.test.utils import override_settings
from moto import mock_aws

from activation import selectors, services
from activation.services import AttributeSpec, IdentitySpec
from profiles.models import MembershipStatus, Profile
from tests.activation.wizard.conftest import member
from tests.factories import ProfileFactory, SegmentFactory

pytestmark = pytest.mark.django_db


# --- segments ---------------------------------------------------------------------------


def test_segment_sizes_count_current_members_only(user: Any, connection: Any) -> None:
    segment = SegmentFactory()
    member(segment)
    member(segment, status=MembershipStatus.EXISTING)
    member(segment, status=MembershipStatus.EXITED)
    empty = SegmentFactory()
    assert selectors.segment_sizes(segment_ids=[segment.id, empty.id]) == {
        segment.id: 2,
        empty.id: 0,
    }


def test_a_segment_page_costs_the_same_queries_whatever_its_size(
    user: Any, connection: Any, django_assert_max_num_queries
) -> None:
    segments = [SegmentFactory(name=f"Audience {n:03}") for n in range(60)]
    for segment in segments[:30]:
        member(segment)
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[segments[1].id])
    # count + page + selection + one aggregate of sizes: never one query per segment.
    with django_assert_max_num_queries(4):
        page, rows = selectors.segment_page(dataflow=draft, page=1, per_page=25)
        assert len(rows) == 25
    assert page.paginator.count == 60
    assert [r.size for r in rows[:2]] == [1, 1]
    assert [r.selected for r in rows[:3]] == [False, True, False]


def test_segment_search_matches_name_and_description(user: Any, connection: Any) -> None:
    SegmentFactory(name="Cart abandoners")
    SegmentFactory(name="Loyal", description="Bought again in the last 30 days")
    SegmentFactory(name="Other")
    draft = services.dataflow_draft_create(user=user, connection=connection)
    _, rows = selectors.segment_page(dataflow=draft, query="CART")
    assert [r.segment.name for r in rows] == ["Cart abandoners"]
    _, rows = selectors.segment_page(dataflow=draft, query="bought")
    assert [r.segment.name for r in rows] == ["Loyal"]


def test_an_out_of_range_page_shows_the_last_one(user: Any, connection: Any) -> None:
    for n in range(30):
        SegmentFactory(name=f"S{n:02}")
    draft = services.dataflow_draft_create(user=user, connection=connection)
    page, rows = selectors.segment_page(dataflow=draft, page="99")
    assert page.number == 2 and len(rows) == 5


def test_distinct_members_count_a_shared_profile_once(two_segments) -> None:
    assert selectors.distinct_member_count(segment_ids=[s.id for s in two_segments]) == 4


# --- the sampled schema -----------------------------------------------------------------


def test_schema_lists_leaf_paths_with_types_examples_and_coverage() -> None:
    documents = [
        {
            "person": {"name": {"firstName": "Ann"}, "birthDate": "1990-01-02"},
            "loyalty": {"points": 10, "member": True, "tags": ["a"]},
            "lastSeen": "2024-05-01T10:00:00Z",
        },
        {"person": {"name": {"firstName": "Bob"}}, "loyalty": {"points": 2.5}, "empty": {}},
    ]
    schema = {item.path: item for item in selectors.schema_from_documents(documents)}
    assert set(schema) == {
        "person.name.firstName",
        "person.birthDate",
        "loyalty.points",
        "loyalty.member",
        "loyalty.tags",
        "lastSeen",
        "empty",
    }
    first = schema["person.name.firstName"]
    assert (first.type, first.examples, first.coverage_percent) == ("string", ["Ann", "Bob"], 100)
    assert schema["person.birthDate"].type == "date"
    assert schema["person.birthDate"].coverage_percent == 50
    assert schema["lastSeen"].type == "datetime"
    assert schema["loyalty.member"].examples == ["true"]  # JSON, as in the record
    assert schema["loyalty.tags"].examples == ['["a"]']
    assert schema["loyalty.member"].type == "boolean"
    assert schema["loyalty.tags"].type == "array"
    assert schema["empty"].type == "object"


def test_the_schema_samples_a_bounded_number_of_profiles_across_the_store(
    django_assert_max_num_queries,
) -> None:
    ProfileFactory.create_batch(120)
    ids = sorted(Profile.objects.values_list("id", flat=True))
    with django_assert_max_num_queries(12):
        sample = selectors.sample_profile_ids(size=20)
    assert len(sample) <= 20
    # Spread over the id range, not just the first or the latest profiles.
    assert min(sample) < ids[20] and max(sample) > ids[-30]


def test_profile_schema_reads_real_profiles() -> None:
    ProfileFactory(attributes={"crm": {"tier": "gold"}})
    paths = {item.path for item in selectors.profile_schema()}
    assert "crm.tier" in paths


def test_schema_search_filters_by_path() -> None:
    schema = selectors.schema_from_documents([{"a": {"email": 1, "name": 2}}])
    assert [i.path for i in selectors.search_schema(schema, "MAIL")] == ["a.email"]


# --- identities and the partition key ----------------------------------------------------


def mapped_draft(user: Any, connection: Any, segments: list) -> Any:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[s.id for s in segments])
    return draft


def test_the_default_partition_key_is_a_stable_identity_every_member_has(
    user: Any, connection: Any, two_segments
) -> None:
    draft = mapped_draft(user, connection, list(two_segments))
    assert selectors.default_partition_key(dataflow=draft) == "ecid"


def test_the_default_partition_key_prefers_crmid_to_contact_details(
    user: Any, connection: Any
) -> None:
    segment = SegmentFactory()
    member(segment, identities={"email": "a@x.com", "crmid": "1", "ecid": "e1"})
    member(segment, identities={"email": "b@x.com", "crmid": "2"})
    draft = mapped_draft(user, connection, [segment])
    assert selectors.default_partition_key(dataflow=draft) == "crmid"


def test_without_a_shared_identity_the_profile_id_is_the_key(user: Any, connection: Any) -> None:
    segment = SegmentFactory()
    member(segment, identities={"email": "a@x.com"})
    member(segment, identities={"phone": "+100"})
    draft = mapped_draft(user, connection, [segment])
    assert selectors.default_partition_key(dataflow=draft) == "profile_id"
    assert selectors.namespace_coverage(dataflow=draft) == {"email": 0.5, "phone": 0.5}


def test_namespaces_include_registered_ones_and_those_seen(two_segments) -> None:
    member(two_segments[0], identities={"loyaltyid": "L1"})
    namespaces = selectors.identity_namespaces()
    assert {"ecid", "email", "phone", "crmid", "loyaltyid"} <= set(namespaces)


def test_attribute_coverage_is_measured_on_members(user: Any, connection: Any) -> None:
    segment = SegmentFactory()
    member(segment, attributes={"a": 1, "b": {"c": 2}})
    member(segment, attributes={"a": 1})
    ProfileFactory(attributes={"b": {"c": 3}})  # not a member: not counted
    draft = mapped_draft(user, connection, [segment])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("a"), AttributeSpec("b.c")],
        identities=[IdentitySpec("email")],
        partition_key_source="profile_id",
    )
    assert selectors.attribute_coverage(dataflow=draft) == {"a": 1.0, "b.c": 0.5}


def test_sample_members_walk_forward_and_wrap(user: Any, connection: Any, two_segments) -> None:
    draft = mapped_draft(user, connection, list(two_segments))
    first = selectors.sample_member_id(dataflow=draft)
    second = selectors.sample_member_id(dataflow=draft, after=first)
    assert second > first
    last = max(
        p
        for p in Profile.objects.values_list("id", flat=True)
        if selectors.is_member(dataflow=draft, profile_id=p)
    )
    assert selectors.sample_member_id(dataflow=draft, after=last) == first


# --- capacity --------------------------------------------------------------------------


def test_provisioned_capacity_is_per_shard() -> None:
    capacity = selectors.capacity_for(
        mode="PROVISIONED", shard_count=2, records=120_000, record_bytes=200
    )
    assert (capacity.records_per_second, capacity.bytes_per_second) == (2000, 2 * 1024 * 1024)
    assert capacity.backfill_seconds == 60
    assert capacity.backfill_duration == "1 min"


def test_large_records_are_limited_by_bytes_per_second() -> None:
    capacity = selectors.capacity_for(
        mode="PROVISIONED", shard_count=1, records=10_000, record_bytes=10 * 1024
    )
    # 1,000 records/s would take 10 s, but 1 MiB/s carries only ~102 records/s.
    assert round(capacity.backfill_seconds) == 98


def test_on_demand_streams_start_at_4000_records_per_second() -> None:
    capacity = selectors.capacity_for(
        mode="ON_DEMAND", shard_count=4, records=4_000 * 3600, record_bytes=100
    )
    assert capacity.records_per_second == 4000
    assert capacity.backfill_duration == "1 h"


@pytest.fixture
def aws() -> Any:
    from destinations.kinesis.aws import clear_client_cache

    clear_client_cache()
    with (
        override_settings(KINESIS_ENDPOINT_URL=None, STS_ENDPOINT_URL=None, IAM_ENDPOINT_URL=None),
        mock_aws(),
    ):
        yield
    clear_client_cache()


def test_stream_capacity_asks_the_stream(aws: Any, connection: Any) -> None:
    import boto3

    boto3.client("kinesis", region_name="us-east-1").create_stream(
        StreamName="demo-stream", ShardCount=3
    )
    capacity = selectors.stream_capacity(connection=connection, records=6000, record_bytes=300)
    assert (capacity.error, capacity.mode, capacity.shard_count) == ("", "PROVISIONED", 3)
    assert capacity.records_per_second == 3000
    assert capacity.backfill_seconds == 2


def test_a_missing_stream_becomes_a_readable_message(aws: Any, connection: Any) -> None:
    capacity = selectors.stream_capacity(connection=connection, records=10, record_bytes=300)
    assert "demo-stream" in capacity.error
    assert capacity.records_per_second == 0 and capacity.records == 10
