"""The local endpoint's shards (core.local_kinesis) answer as moto's own do, directly."""

import boto3
import pytest
from moto import mock_aws
from moto.kinesis.models import kinesis_backends

from core.local_kinesis import shards_indexed

REGION = "eu-west-1"


@pytest.fixture
def kinesis():
    shards_indexed()
    with mock_aws():
        client = boto3.client("kinesis", region_name=REGION)
        client.create_stream(StreamName="s", ShardCount=1)
        yield client


def put(client, count: int, first: int = 0) -> list[str]:
    numbers = []
    for n in range(first, first + count):
        answer = client.put_record(StreamName="s", Data=f"r{n}".encode(), PartitionKey="k")
        numbers.append(answer["SequenceNumber"])
    return numbers


def read_all(client, *, limit: int) -> list[bytes]:
    shard = client.list_shards(StreamName="s")["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(
        StreamName="s", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    data = []
    while True:
        page = client.get_records(ShardIterator=iterator, Limit=limit)
        data += [record["Data"] for record in page["Records"]]
        if not page["Records"]:
            return data
        iterator = page["NextShardIterator"]


def test_records_come_back_in_order_page_by_page(kinesis):
    numbers = put(kinesis, 23)

    assert [int(n) for n in numbers] == list(range(1, 24))
    assert read_all(kinesis, limit=5) == [f"r{n}".encode() for n in range(23)]


def test_a_shard_whose_numbers_have_a_gap_is_read_in_order_too(kinesis):
    put(kinesis, 6)
    [shard] = kinesis_backends["123456789012"][REGION].streams["s"].shards.values()
    del shard.records[3]  # not consecutive any more: moto's own walk answers

    assert read_all(kinesis, limit=2) == [b"r0", b"r1", b"r3", b"r4", b"r5"]
    assert put(kinesis, 1, first=6) == ["7"]
