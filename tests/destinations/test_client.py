"""destinations.kinesis.aws against in-process moto: results, caching, the test call hook."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from destinations.kinesis import aws as kinesis
from destinations.kinesis.aws import clients, operations
from tests.destinations.conftest import KEY_ID, REGION, SECRET, STREAM, read_stream
from tests.support import aws_calls

ROLE_ARN = "arn:aws:iam::123456789012:role/StreamlineWriter"


def test_it_lists_every_page_of_streams(owner_kinesis: Any, creds: Any) -> None:
    names = [f"stream-{n:03}" for n in range(230)]
    for name in names:
        owner_kinesis.create_stream(StreamName=name, ShardCount=1)
    calls: list[dict] = []

    def spy(service: str, operation: str, params: dict, proceed: Any) -> dict:
        calls.append(dict(params))
        return proceed()

    with aws_calls.call_hook(spy):
        assert sorted(kinesis.list_streams(creds)) == names
    assert len(calls) == 3  # 100 + 100 + 30


def test_it_describes_a_stream(stream: str, creds: Any) -> None:
    summary = kinesis.describe_stream_summary(creds, stream)
    assert summary.name == STREAM
    assert summary.arn == f"arn:aws:kinesis:{REGION}:123456789012:stream/{STREAM}"
    assert summary.status == "ACTIVE"
    assert summary.mode == "PROVISIONED"
    assert summary.shard_count == 2
    assert summary.encryption == "NONE"
    assert summary.account_id == "123456789012"


def test_it_reads_the_streams_record_size_limit(stream: str, creds: Any) -> None:
    # moto does not report MaxRecordSizeInKiB: Kinesis' default applies.
    assert kinesis.describe_stream_summary(creds, stream).max_record_bytes == 1024 * 1024

    def ten_mib(service: str, operation: str, params: dict, proceed: Any) -> dict:
        response = proceed()
        response["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] = 10240
        return response

    with aws_calls.call_hook(ten_mib):
        summary = kinesis.describe_stream_summary(creds, stream)
    assert (summary.max_record_kib, summary.max_record_bytes) == (10240, 10 * 1024 * 1024)


def test_it_reports_kms_encryption(owner_kinesis: Any, stream: str, creds: Any) -> None:
    owner_kinesis.start_stream_encryption(
        StreamName=stream, EncryptionType="KMS", KeyId="alias/my-key"
    )
    summary = kinesis.describe_stream_summary(creds, stream)
    assert (summary.encryption, summary.key_id) == ("KMS", "alias/my-key")


def test_it_writes_records_and_returns_them_in_order(
    owner_kinesis: Any, stream: str, creds: Any
) -> None:
    single = kinesis.put_record(creds, stream, b'{"n": 0}', "p0")
    assert single.shard_id.startswith("shardId-")
    results = kinesis.put_records(
        creds, stream, [(f'{{"n": {n}}}'.encode(), f"p{n}") for n in (1, 2)]
    )
    assert [r.ok for r in results] == [True, True]
    assert all(r.sequence_number for r in results)
    assert sorted(bytes(r["Data"]) for r in read_stream(owner_kinesis, stream)) == [
        b'{"n": 0}',
        b'{"n": 1}',
        b'{"n": 2}',
    ]


def test_per_record_failures_come_back_in_entry_order(stream: str, creds: Any) -> None:
    def fail_second(service: str, operation: str, params: dict, proceed: Any) -> dict:
        return aws_calls.fail_records(proceed(), [1], "InternalFailure", "oops")

    with aws_calls.call_hook(fail_second):
        results = kinesis.put_records(creds, stream, [(b"a", "1"), (b"b", "2"), (b"c", "3")])
    assert [r.error_code for r in results] == [None, "InternalFailure", None]
    assert results[1].error_message == "oops"
    assert results[1].shard_id is None


def test_a_fabricated_response_never_reaches_aws(creds: Any) -> None:
    def fake(service: str, operation: str, params: dict, proceed: Any) -> dict:
        return {"StreamNames": ["imaginary"], "HasMoreStreams": False}

    with aws_calls.call_hook(fake):
        assert kinesis.list_streams(creds) == ["imaginary"]


def test_it_reads_the_newest_records(stream: str, creds: Any) -> None:
    for n in range(5):
        kinesis.put_record(creds, stream, f"record {n}".encode(), f"key-{n}")
    records = kinesis.read_recent_records(creds, stream, 3)
    assert len(records) == 3
    assert {r.data for r in records} <= {f"record {n}".encode() for n in range(5)}
    assert records[0].arrived_at >= records[-1].arrived_at


def test_reading_without_permission_names_the_read_actions(stream: str, creds: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "ListShards":
            raise aws_calls.client_error("AccessDeniedException", operation=operation)
        return proceed()

    with aws_calls.call_hook(deny), pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.read_recent_records(creds, stream, 3)
    assert "kinesis:GetShardIterator" in raised.value.message
    assert "kinesis:GetRecords" in raised.value.message


def test_caller_identity(aws: None, creds: Any) -> None:
    assert kinesis.caller_identity(creds) == "123456789012"


def test_caller_identity_is_none_when_sts_refuses(creds: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("AccessDenied", operation=operation)

    with aws_calls.call_hook(deny):
        assert kinesis.caller_identity(creds) is None


def test_simulation_returns_decisions(creds: Any) -> None:
    def simulate(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "GetCallerIdentity":
            return {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/w"}
        assert params["PolicySourceArn"] == "arn:aws:iam::123456789012:user/w"
        return {
            "EvaluationResults": [
                {"EvalActionName": "kinesis:PutRecord", "EvalDecision": "allowed"},
                {"EvalActionName": "kinesis:PutRecords", "EvalDecision": "implicitDeny"},
            ],
            "IsTruncated": False,
        }

    with aws_calls.call_hook(simulate):
        decisions = kinesis.simulate_permissions(
            creds, ["kinesis:PutRecord", "kinesis:PutRecords"], "arn:aws:kinesis:::stream/x"
        )
    assert decisions == {"kinesis:PutRecord": True, "kinesis:PutRecords": False}


def test_simulation_is_none_when_not_allowed(aws: None, creds: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "SimulatePrincipalPolicy":
            raise aws_calls.client_error("AccessDenied", operation=operation)
        return proceed()

    with aws_calls.call_hook(deny):
        assert kinesis.simulate_permissions(creds, ["kinesis:PutRecord"], "arn") is None


def test_an_assumed_role_session_is_simulated_as_its_role() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/Writer/streamline"
    assert operations._policy_source_arn(arn) == "arn:aws:iam::123456789012:role/Writer"


# --- clients: cached per process, never across a fork ----------------------


def test_clients_are_cached_per_credentials(creds: Any) -> None:
    first = clients.client_for("kinesis", creds)
    again = clients.client_for("kinesis", kinesis.AwsCredentials(REGION, KEY_ID, SECRET))
    assert first is again
    other_secret = clients.client_for("kinesis", kinesis.AwsCredentials(REGION, KEY_ID, "other"))
    assert other_secret is not first


def test_the_cache_tells_secrets_apart_by_fingerprint_only(creds: Any) -> None:
    other = kinesis.AwsCredentials(REGION, KEY_ID, "other")
    assert creds.fingerprint != other.fingerprint and creds != other
    assert SECRET not in creds.fingerprint


def test_a_forked_child_starts_without_clients(creds: Any) -> None:
    first = clients.client_for("kinesis", creds)
    assert clients.cached_client_count() == 1
    child = os.fork()
    if child == 0:  # the child: no client crosses the fork (os.register_at_fork)
        fresh = clients.cached_client_count() == 0 and clients.client_for("kinesis", creds)
        os._exit(0 if fresh and fresh is not first else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert clients.client_for("kinesis", creds) is first  # the parent keeps its own


def test_clients_use_standard_retries_and_timeouts(settings: Any, creds: Any) -> None:
    settings.CELERY_WORKER_CONCURRENCY = 8
    botocore_client = clients.client_for("kinesis", creds)
    config = botocore_client.meta.config
    assert config.retries["mode"] == "standard"
    assert config.connect_timeout == 5
    assert config.read_timeout == 20
    assert config.max_pool_connections == 32


def test_the_endpoint_comes_from_settings(settings: Any, creds: Any) -> None:
    settings.KINESIS_ENDPOINT_URL = "http://127.0.0.1:4566"
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = "http://127.0.0.1:4567"
    assert clients.client_for("kinesis", creds).meta.endpoint_url == "http://127.0.0.1:4566"
    assert clients.client_for("sts", creds).meta.endpoint_url == "http://127.0.0.1:4567"
    assert clients.client_for("iam", creds).meta.endpoint_url == "http://127.0.0.1:4567"


# --- IAM roles --------------------------------------------------------------


def _role_creds() -> kinesis.AwsCredentials:
    return kinesis.AwsCredentials(region=REGION, role_arn=ROLE_ARN, external_id="ext-1234")


def test_a_role_is_assumed_first_and_its_credentials_cached(stream: str) -> None:
    seen: list[tuple[str, str]] = []

    def spy(service: str, operation: str, params: dict, proceed: Any) -> dict:
        seen.append((service, operation))
        if operation == "AssumeRole":
            assert params["RoleArn"] == ROLE_ARN
            assert params["ExternalId"] == "ext-1234"
        return proceed()

    with aws_calls.call_hook(spy):
        assert kinesis.list_streams(_role_creds()) == [STREAM]
        kinesis.list_streams(_role_creds())
    assert seen == [("sts", "AssumeRole"), ("kinesis", "ListStreams"), ("kinesis", "ListStreams")]


def test_a_role_is_assumed_again_near_expiry(stream: str) -> None:
    expirations = [dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)]
    assumed = 0

    def short_lived(service: str, operation: str, params: dict, proceed: Any) -> dict:
        nonlocal assumed
        if operation != "AssumeRole":
            return proceed()
        assumed += 1
        response = proceed()
        response["Credentials"]["Expiration"] = expirations[0]
        return response

    with aws_calls.call_hook(short_lived):
        kinesis.list_streams(_role_creds())
        first = assumed
        kinesis.list_streams(_role_creds())
        # Two minutes left is too close: botocore's refreshable credentials assume
        # the role again before the call signs (as often as it asks for them).
        assert assumed > first
        expirations[0] = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        kinesis.list_streams(_role_creds())
        settled = assumed
        kinesis.list_streams(_role_creds())
    assert assumed == settled  # an hour left: the cached credentials sign


def test_a_refused_assume_role_names_the_trust_policy(aws: None) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("AccessDenied", operation=operation)

    with aws_calls.call_hook(deny), pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.list_streams(_role_creds())
    assert raised.value.action == "sts:AssumeRole"
    assert "trust policy" in raised.value.message
    assert ROLE_ARN in raised.value.message


def test_an_expired_role_session_is_forgotten(stream: str) -> None:
    kinesis.list_streams(_role_creds())
    assert clients._role_session.cache_info().currsize == 1

    def expired(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("ExpiredTokenException", operation=operation)

    with aws_calls.call_hook(expired), pytest.raises(kinesis.BadCredentials):
        kinesis.list_streams(_role_creds())
    assert clients._role_session.cache_info().currsize == 0


# --- credentials ------------------------------------------------------------


def test_repr_never_shows_the_secret() -> None:
    creds = kinesis.AwsCredentials(
        region=REGION, access_key_id=KEY_ID, secret_access_key=SECRET, external_id="e-secretish"
    )
    assert SECRET not in repr(creds)
    assert SECRET not in str(creds)


def test_credentials_for_decrypts_the_connection_secret(connection: Any) -> None:
    creds = kinesis.credentials_for(connection)
    assert creds == kinesis.AwsCredentials(
        region=REGION, access_key_id=KEY_ID, secret_access_key=SECRET
    )


def test_credentials_for_a_role_connection(db: Any) -> None:
    from tests.factories import ConnectionFactory

    connection = ConnectionFactory(
        auth_method="iam_role",
        access_key_id="",
        role_arn=ROLE_ARN,
        external_id="ext-1234",
    )
    creds = kinesis.credentials_for(connection)
    assert creds.uses_role and creds.external_id == "ext-1234"
    assert creds.secret_access_key == ""


def test_the_region_list_comes_from_botocore() -> None:
    regions = kinesis.kinesis_regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    choices = dict(kinesis.kinesis_region_choices())
    assert choices["us-east-1"] == "us-east-1 — US East (N. Virginia)"
