"""Against a moto server that enforces IAM: real unknown keys, wrong secrets, denials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from destinations.kinesis import aws as kinesis
from tests.support.local_kinesis import REGION, LocalKinesis

STREAM = "auth-stream"
LIST_AND_PUT_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["kinesis:ListStreams"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["kinesis:PutRecord"], "Resource": "*"},
    ],
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalKinesis]:
    local = LocalKinesis()
    local.start()
    yield local
    local.set_iam_auth(enabled=False)
    local.stop()


@pytest.fixture
def endpoint(server: LocalKinesis, settings: Any) -> Iterator[LocalKinesis]:
    server.reset()
    server.create_stream(STREAM, shards=1)
    settings.KINESIS_ENDPOINT_URL = server.url
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = server.url
    kinesis.clear_client_cache()
    yield server
    server.set_iam_auth(enabled=False)


def limited_key(server: LocalKinesis) -> tuple[str, str]:
    iam = server.boto("iam")
    iam.create_user(UserName="limited")
    iam.put_user_policy(
        UserName="limited", PolicyName="p", PolicyDocument=json.dumps(LIST_AND_PUT_ONLY)
    )
    key = iam.create_access_key(UserName="limited")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def creds(key_id: str, secret: str) -> kinesis.AwsCredentials:
    return kinesis.AwsCredentials(region=REGION, access_key_id=key_id, secret_access_key=secret)


def test_a_real_key_lists_streams_and_writes(endpoint: LocalKinesis) -> None:
    key_id, secret = limited_key(endpoint)
    endpoint.set_iam_auth(enabled=True)
    assert kinesis.list_streams(creds(key_id, secret)) == [STREAM]
    assert kinesis.put_record(creds(key_id, secret), STREAM, b"{}", "pk").sequence_number


def test_an_unknown_key_is_reported(endpoint: LocalKinesis) -> None:
    endpoint.set_iam_auth(enabled=True)
    with pytest.raises(kinesis.BadCredentials) as raised:
        kinesis.list_streams(creds("AKIAUNKNOWNKEY000000", "whatever"))
    assert raised.value.kind == "unknown_key"
    assert "does not recognise the access key ID AKIA…0000" in raised.value.message


def test_a_wrong_secret_is_reported(endpoint: LocalKinesis) -> None:
    key_id, _ = limited_key(endpoint)
    endpoint.set_iam_auth(enabled=True)
    with pytest.raises(kinesis.BadCredentials) as raised:
        kinesis.list_streams(creds(key_id, "not-the-secret"))
    assert raised.value.kind == "wrong_secret"
    assert "secret access key does not match" in raised.value.message


def test_a_denied_action_is_named(endpoint: LocalKinesis) -> None:
    key_id, secret = limited_key(endpoint)
    endpoint.set_iam_auth(enabled=True)
    with pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.put_records(creds(key_id, secret), STREAM, [(b"{}", "pk")])
    assert raised.value.action == "kinesis:PutRecords"
    assert "not allowed to call kinesis:PutRecords" in raised.value.message
    with pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.describe_stream_summary(creds(key_id, secret), STREAM)
    assert raised.value.action == "kinesis:DescribeStreamSummary"


def test_a_role_without_sts_permission_is_refused(endpoint: LocalKinesis) -> None:
    key_id, secret = limited_key(endpoint)
    endpoint.boto("iam").create_role(
        RoleName="writer",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    endpoint.set_iam_auth(enabled=True)
    role = kinesis.AwsCredentials(
        region=REGION,
        access_key_id=key_id,
        secret_access_key=secret,
        role_arn="arn:aws:iam::123456789012:role/writer",
        external_id="ext-1234",
    )
    with pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.list_streams(role)
    assert raised.value.action == "sts:AssumeRole"


def test_a_role_is_assumed_through_the_local_sts(endpoint: LocalKinesis) -> None:
    role = kinesis.AwsCredentials(
        region=REGION, role_arn="arn:aws:iam::123456789012:role/any", external_id="ext-1234"
    )
    assert kinesis.list_streams(role) == [STREAM]
