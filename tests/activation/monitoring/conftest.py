import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.utils import timezone
from moto import mock_aws

from destinations.kinesis import aws as kinesis
from tests.factories import ConnectionFactory, DataflowFactory
from tests.support import aws_calls

REGION = "us-east-1"


def this_hour(hours_ago: int = 0) -> dt.datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=hours_ago)


@pytest.fixture
def connection(user: Any) -> Any:
    return ConnectionFactory(owner=user, name="Acme stream", stream_name="acme-events")


@pytest.fixture
def dataflow(connection: Any) -> Any:
    return DataflowFactory(connection=connection, name="Newsletter to Kinesis")


@pytest.fixture
def moto_kinesis(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process behind the real AWS endpoint names, with the stream `acme-events`;
    yields the account owner's own boto3 client (to write or delete the stream)."""
    settings.KINESIS_ENDPOINT_URL = None
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPLATFORMTESTING0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "platform-testing")
    kinesis.clear_client_cache()
    aws_calls.set_call_hook(None)
    with mock_aws():
        owner = boto3.client("kinesis", region_name=REGION)
        owner.create_stream(StreamName="acme-events", ShardCount=2)
        yield owner
    aws_calls.set_call_hook(None)
    kinesis.clear_client_cache()
