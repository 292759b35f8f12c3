"""Fixtures for the destinations tests: in-process moto, ready connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from destinations.kinesis import aws as kinesis
from tests.support import aws_calls

REGION = "us-east-1"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
STREAM = "orders"


@pytest.fixture(autouse=True)
def _fresh_aws_state(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real AWS endpoints (intercepted by moto), no cached clients, no stray hook."""
    settings.KINESIS_ENDPOINT_URL = None
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPLATFORMTESTING0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "platform-testing")
    kinesis.clear_client_cache()
    aws_calls.set_call_hook(None)
    yield
    aws_calls.set_call_hook(None)
    kinesis.clear_client_cache()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def owner_kinesis(aws: None) -> Any:
    """The account owner's own boto3 client (creates streams, reads them back)."""
    return boto3.client("kinesis", region_name=REGION)


@pytest.fixture
def stream(owner_kinesis: Any) -> str:
    owner_kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    return STREAM


@pytest.fixture
def creds() -> kinesis.AwsCredentials:
    return kinesis.AwsCredentials(region=REGION, access_key_id=KEY_ID, secret_access_key=SECRET)


@pytest.fixture
def connection(user: Any, stream: str) -> Any:
    from tests.factories import ConnectionFactory

    return ConnectionFactory(owner=user, name="Orders stream", stream_name=stream, secret=SECRET)


def read_stream(owner_kinesis: Any, name: str) -> list[dict[str, Any]]:
    """Every record in the stream, as the customer's consumer sees it."""
    records: list[dict[str, Any]] = []
    for shard in owner_kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = owner_kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += owner_kinesis.get_records(ShardIterator=iterator)["Records"]
    return records
