"""destinations.kinesis.client against in-process moto: results, caching, the call hook."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from destinations.kinesis import client as kinesis
from tests.destinations.conftest import KEY_ID, REGION, SECRET, STREAM, read_stream

ROLE_ARN = "arn:aws:iam::123456789012:role/StreamlineWriter"


def test_it_lists_every_page_of_streams(owner_kinesis: Any, creds: Any) -> None:
    names = [f"stream-{n:03}" for n in range(230)]
    for name in names:
        owner_kinesis.create_stream(StreamName=name, ShardCount=1)
    calls: list[dict] = []

    def spy(service: str, operation: str, params: dict, proceed: Any) -> dict:
        calls.append(dict(params))
        return proceed()

    with kinesis.call_hook(spy):
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

    with kinesis.call_hook(ten_mib):
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
        return kinesis.fail_records(proceed(), [1], "InternalFailure", "oops")

    with kinesis.call_hook(fail_second):
        results = kinesis.put_records(creds, stream, [(b"a", "1"), (b"b", "2"), (b"c", "3")])
    assert [r.error_code for r in results] == [None, "InternalFailure", None]
    assert results[1].error_message == "oops"
    assert results[1].shard_id is None


def test_a_fabricated_response_never_reaches_aws(creds: Any) -> None:
    def fake(service: str, operation: str, params: dict, proceed: Any) -> dict:
        return {"StreamNames": ["imaginary"], "HasMoreStreams": False}

    with kinesis.call_hook(fake):
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
            raise kinesis.client_error("AccessDeniedException", operation=operation)
        return proceed()

    with kinesis.call_hook(deny), pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.read_recent_records(creds, stream, 3)
    assert "kinesis:GetShardIterator" in raised.value.message
    assert "kinesis:GetRecords" in raised.value.message


def test_caller_identity(aws: None, creds: Any) -> None:
    assert kinesis.caller_identity(creds) == "123456789012"


def test_caller_identity_is_none_when_sts_refuses(creds: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise kinesis.client_error("AccessDenied", operation=operation)

    with kinesis.call_hook(deny):
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

    with kinesis.call_hook(simulate):
        decisions = kinesis.simulate_permissions(
            creds, ["kinesis:PutRecord", "kinesis:PutRecords"], "arn:aws:kinesis:::stream/x"
        )
    assert decisions == {"kinesis:PutRecord": True, "kinesis:PutRecords": False}


def test_simulation_is_none_when_not_allowed(aws: None, creds: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "SimulatePrincipalPolicy":
            raise kinesis.client_error("AccessDenied", operation=operation)
        return proceed()

    with kinesis.call_hook(deny):
        assert kinesis.simulate_permissions(creds, ["kinesis:PutRecord"], "arn") is None


def test_an_assumed_role_session_is_simulated_as_its_role() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/Writer/streamline"
    assert kinesis._policy_source_arn(arn) == "arn:aws:iam::123456789012:role/Writer"


# --- clients: cached per process, never across a fork ----------------------


def test_clients_are_cached_per_process(creds: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = kinesis._client("kinesis", creds)
    again, _ = kinesis._client("kinesis", creds)
    assert first is again
    other_secret, _ = kinesis._client("kinesis", kinesis.AwsCredentials(REGION, KEY_ID, "other"))
    assert other_secret is not first
    monkeypatch.setattr(os, "getpid", lambda: -1)
    assert kinesis._client("kinesis", creds)[0] is not first


def test_a_forked_child_starts_without_clients(creds: Any) -> None:
    kinesis._client("kinesis", creds)
    assert kinesis._clients
    kinesis._reset_after_fork()
    assert not kinesis._clients and not kinesis._assumed


def test_clients_use_standard_retries_and_timeouts(settings: Any, creds: Any) -> None:
    settings.CELERY_WORKER_CONCURRENCY = 8
    botocore_client, _ = kinesis._client("kinesis", creds)
    config = botocore_client.meta.config
    assert config.retries["mode"] == "standard"
    assert config.connect_timeout == 5
    assert config.read_timeout == 20
    assert config.max_pool_connections == 32


def test_the_endpoint_comes_from_settings(settings: Any, creds: Any) -> None:
    settings.KINESIS_ENDPOINT_URL = "http://127.0.0.1:4566"
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = "http://127.0.0.1:4567"
    assert kinesis._client("kinesis", creds)[0].meta.endpoint_url == "http://127.0.0.1:4566"
    assert kinesis._client("sts", creds)[0].meta.endpoint_url == "http://127.0.0.1:4567"
    assert kinesis._client("iam", creds)[0].meta.endpoint_url == "http://127.0.0.1:4567"


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

    with kinesis.call_hook(spy):
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

    with kinesis.call_hook(short_lived):
        kinesis.list_streams(_role_creds())
        kinesis.list_streams(_role_creds())
        assert assumed == 2  # two minutes left is too close: assumed again
        expirations[0] = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        kinesis.list_streams(_role_creds())
        kinesis.list_streams(_role_creds())
    assert assumed == 3


def test_a_refused_assume_role_names_the_trust_policy(aws: None) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise kinesis.client_error("AccessDenied", operation=operation)

    with kinesis.call_hook(deny), pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.list_streams(_role_creds())
    assert raised.value.action == "sts:AssumeRole"
    assert "trust policy" in raised.value.message
    assert ROLE_ARN in raised.value.message


def test_an_expired_role_session_is_forgotten(stream: str) -> None:
    kinesis.list_streams(_role_creds())
    assert kinesis._assumed

    def expired(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise kinesis.client_error("ExpiredTokenException", operation=operation)

    with kinesis.call_hook(expired), pytest.raises(kinesis.BadCredentials):
        kinesis.list_streams(_role_creds())
    assert not kinesis._assumed


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


def test_a_hook_is_loaded_from_the_environment(monkeypatch: pytest.MonkeyPatch, creds: Any) -> None:
    monkeypatch.setenv("KINESIS_CALL_HOOK", f"{__name__}:env_hook")
    monkeypatch.setattr(kinesis, "_env_hook_loaded", False)
    try:
        assert kinesis.list_streams(creds) == ["from-env-hook"]
    finally:
        kinesis.set_call_hook(None)


def env_hook(service: str, operation: str, params: dict, proceed: Any) -> dict:
    return {"StreamNames": ["from-env-hook"], "HasMoreStreams": False}


def test_the_region_list_comes_from_botocore() -> None:
    regions = kinesis.kinesis_regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    choices = dict(kinesis.kinesis_region_choices())
    assert choices["us-east-1"] == "us-east-1 — US East (N. Virginia)"
