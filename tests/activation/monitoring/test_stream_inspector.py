import json
from typing import Any

import pytest
from django.urls import reverse

from activation.monitoring.inspector import pretty_data, read_policy
from tests.factories import ConnectionFactory, UserFactory
from tests.support import aws_calls

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def aws(moto_kinesis: Any) -> Any:
    return moto_kinesis


def inspect(client, connection, **params) -> str:
    url = reverse("activation:stream_inspector", args=[connection.pk])
    return client.get(url, {"read": "1", **params}).content.decode()


def test_page_loads_records_through_htmx(logged_in_client, connection):
    url = reverse("activation:stream_inspector", args=[connection.pk])
    html = logged_in_client.get(url).content.decode()
    assert 'hx-trigger="load"' in html and "read=1" in html


def test_it_shows_the_newest_records_pretty_printed(logged_in_client, connection, aws):
    for n in range(30):
        document = {"personalEmail": {"address": f"p{n}@example.com"}, "n": n}
        aws.put_record(StreamName="acme-events", Data=json.dumps(document), PartitionKey=f"k{n}")
    aws.put_record(StreamName="acme-events", Data=b"\xff\xfe", PartitionKey="binary")
    html = inspect(logged_in_client, connection, limit=10)
    assert html.count('<li class="card record">') == 10
    assert "&quot;address&quot;: &quot;p29@example.com&quot;" in html  # indented JSON
    assert "not JSON" in html  # the binary record is the newest
    assert "p5@example.com" not in html  # older than the last 10


def test_an_empty_stream_says_so(logged_in_client, connection):
    assert "No record arrived in the stream in the last 24 hours." in inspect(
        logged_in_client, connection
    )


def test_missing_read_permission_names_it_and_shows_the_policy(logged_in_client, connection):
    def deny_reads(service, operation, params, proceed):
        if operation == "GetRecords":
            raise aws_calls.client_error(
                "AccessDeniedException",
                "User is not authorized to perform: kinesis:GetRecords",
                operation="GetRecords",
            )
        return proceed()

    with aws_calls.call_hook(deny_reads):
        html = inspect(logged_in_client, connection)
    assert "<code>kinesis:GetRecords</code> is not allowed" in html
    assert "Add this statement to the IAM policy" in html
    assert "arn:aws:kinesis:us-east-1:" in html and ":stream/acme-events" in html
    assert "&quot;kinesis:GetShardIterator&quot;" in html


def test_a_deleted_stream_is_explained(logged_in_client, connection, aws):
    aws.delete_stream(StreamName="acme-events")
    html = inspect(logged_in_client, connection)
    assert "The stream could not be read" in html
    assert "ResourceNotFoundException" in html


def test_a_missing_connection_is_404(logged_in_client):
    other = ConnectionFactory(owner=UserFactory())
    url = reverse("activation:stream_inspector", args=[other.pk + 1000])
    assert logged_in_client.get(url).status_code == 404


def test_pretty_data_handles_json_text_and_binary():
    assert pretty_data(b'{"a": {"b": 1}}') == ('{\n  "a": {\n    "b": 1\n  }\n}', True)
    assert pretty_data(b"plain text") == ("plain text", False)
    assert pretty_data(b"\xff") == ("/w==", False)


def test_read_policy_lists_the_read_actions_on_the_stream():
    policy = json.loads(read_policy(missing_action="kinesis:ListShards", arn="arn:x"))
    assert policy["Action"] == [
        "kinesis:ListShards",
        "kinesis:GetShardIterator",
        "kinesis:GetRecords",
    ]
    assert policy["Resource"] == "arn:x" and policy["Effect"] == "Allow"


def test_the_delivery_lookup_reads_a_delivered_record_back(logged_in_client, connection, aws):
    from tests.factories import DataflowFactory, DeliveryLogFactory

    aws.put_record(StreamName="acme-events", Data=b'{"n": 1}', PartitionKey="k1")
    put = aws.put_record(
        StreamName="acme-events", Data=json.dumps({"profileId": 7}), PartitionKey="jane"
    )
    delivery = DeliveryLogFactory(
        dataflow=DataflowFactory(connection=connection),
        profile_id=7,
        shard_id=put["ShardId"],
        sequence_number=put["SequenceNumber"],
    )
    url = reverse("activation:delivery_record", args=[delivery.pk])
    html = logged_in_client.get(url).content.decode()
    assert "&quot;profileId&quot;: 7" in html and "<code>jane</code>" in html
    assert "&quot;n&quot;" not in html  # exactly that record, not its neighbour
    lookup = logged_in_client.get(reverse("activation:delivery_lookup"), {"profile": 7})
    assert url in lookup.content.decode()  # the "Show record" button


def test_a_record_gone_from_the_stream_says_so(logged_in_client, connection, aws):
    from tests.factories import DataflowFactory, DeliveryLogFactory

    put = aws.put_record(StreamName="acme-events", Data=b"{}", PartitionKey="k")
    delivery = DeliveryLogFactory(
        dataflow=DataflowFactory(connection=connection),
        shard_id=put["ShardId"],
        sequence_number=str(int(put["SequenceNumber"]) + 10**6),
    )
    html = logged_in_client.get(
        reverse("activation:delivery_record", args=[delivery.pk])
    ).content.decode()
    assert 'role="status"' in html and "<pre>" not in html


def test_the_breadcrumb_follows_where_the_inspector_was_opened_from(logged_in_client, connection):
    from tests.factories import DataflowFactory

    flow = DataflowFactory(connection=connection, name="Newsletter")
    url = reverse("activation:stream_inspector", args=[connection.pk])
    from_flow = logged_in_client.get(url, {"from": f"dataflow-{flow.pk}"}).content.decode()
    crumbs = from_flow[from_flow.index('class="breadcrumbs"') :][:600]
    assert (
        reverse("activation:dataflow_detail", args=[flow.pk]) in crumbs and "Newsletter" in crumbs
    )
    from_destination = logged_in_client.get(url, {"from": "destination"}).content.decode()
    crumbs = from_destination[from_destination.index('class="breadcrumbs"') :][:600]
    assert reverse("destinations:detail", args=[connection.pk]) in crumbs
    assert "Acme stream" in crumbs and "Dataflows" not in crumbs
    detail = logged_in_client.get(reverse("activation:dataflow_detail", args=[flow.pk]))
    assert f"{url}?from=dataflow-{flow.pk}" in detail.content.decode()


def test_the_inspector_filters_by_partition_key_or_profile(logged_in_client, connection, aws):
    for n in range(5):
        document = {"profileId": 40 + n, "identityMap": {"email": [{"id": f"p{n}@example.com"}]}}
        aws.put_record(StreamName="acme-events", Data=json.dumps(document), PartitionKey=f"k{n}")
    by_key = inspect(logged_in_client, connection, match="k2")
    assert by_key.count('<li class="card record">') == 1 and "p2@example.com" in by_key
    by_profile = inspect(logged_in_client, connection, match="43")
    assert by_profile.count('<li class="card record">') == 1 and "p3@example.com" in by_profile
    by_identity = inspect(logged_in_client, connection, match="p4@example.com")
    assert by_identity.count('<li class="card record">') == 1
    none = inspect(logged_in_client, connection, match="nobody")
    assert "None of the last 25 records has the partition key or profile" in none
