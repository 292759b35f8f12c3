"""The edit review's sample is the record "Save changes" sends, byte for byte (but its
`_id`, new for every built record): kept segments keep their mapping times."""

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from activation import services as wizard
from activation.export.records import record_for_profile, unix_ms
from activation.models import DataflowSegment
from tests.activation.export.conftest import dataflow_for, export, segment_of, upsert, vip_segment
from tests.activation.monitoring.conftest import moto_kinesis  # noqa: F401 - the fixture
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = "acme-events"
RECORD_ID = re.compile(rb'"_id":"[0-9a-f]{32}",?')


def stream_records(client) -> list[tuple[bytes, str]]:
    """Every record of the stream (Data, PartitionKey), in order per shard."""
    records = []
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        got = client.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        records += [(r["Data"], r["PartitionKey"]) for r in got]
    return records


def test_the_edit_review_sample_is_the_record_save_sends(moto_kinesis, user):  # noqa: F811
    vip = vip_segment()
    named = segment_of("Named", {"path": "person.name.firstName", "op": "exists"})
    attributes = {"loyalty": {"tier": "gold"}, "person": {"name": {"firstName": "Ann"}}}
    profile_id = upsert("ann@example.com", attributes)
    connection = ConnectionFactory(
        stream_name=STREAM, include_segment_names=True, include_segment_timestamps=True
    )
    dataflow = dataflow_for([vip], connection=connection)
    weeks_ago = timezone.now() - dt.timedelta(weeks=3)
    DataflowSegment.objects.filter(dataflow=dataflow).update(
        mapping_created_at=weeks_ago, mapping_updated_at=weeks_ago
    )
    export(dataflow, None)

    # Edit: add a segment Ann is in; review her record; save.
    draft = wizard.dataflow_edit_start(dataflow=dataflow, user=user)
    wizard.dataflow_set_segments(dataflow=draft, segment_ids=[vip.pk, named.pk])
    sample = record_for_profile(dataflow=draft, profile_id=profile_id)
    wizard.dataflow_finish(dataflow=draft, user=user, name=dataflow.name)
    report = export(dataflow, None)

    assert report.delivered == 1, "the added segment's backfill sent Ann again"
    sent, key = stream_records(moto_kinesis)[-1]
    assert RECORD_ID.sub(b"", sent) == RECORD_ID.sub(b"", sample.data)
    assert key == sample.partition_key
    ups = json.loads(sent)["segmentMembership"]["ups"]
    assert ups[str(vip.pk)]["mappingCreatedAt"] == unix_ms(weeks_ago), "the kept segment's"
    assert ups[str(named.pk)]["mappingCreatedAt"] > unix_ms(weeks_ago)


def test_a_mapping_change_stamps_the_kept_segments_when_the_draft_changes_it(user):
    vip = vip_segment()
    dataflow = dataflow_for([vip])
    weeks_ago = timezone.now() - dt.timedelta(weeks=3)
    DataflowSegment.objects.filter(dataflow=dataflow).update(
        mapping_created_at=weeks_ago, mapping_updated_at=weeks_ago
    )
    draft = wizard.dataflow_edit_start(dataflow=dataflow, user=user)
    wizard.dataflow_set_mapping(
        dataflow=draft,
        attributes=[wizard.AttributeSpec("person.name.firstName")],
        identities=[wizard.IdentitySpec("email")],
        partition_key_source="email",
    )
    [(created, updated)] = draft.mapped_segments.values_list(
        "mapping_created_at", "mapping_updated_at"
    )
    assert created == weeks_ago and updated > weeks_ago

    wizard.dataflow_finish(dataflow=draft, user=user, name=dataflow.name)

    [live] = DataflowSegment.objects.filter(dataflow=dataflow)
    assert (live.mapping_created_at, live.mapping_updated_at) == (created, updated)
