"""Every AWS failure reaches callers as the project's exception with a specific message."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from destinations.kinesis import aws as kinesis
from destinations.kinesis.aws import clients
from tests.destinations.conftest import REGION, STREAM
from tests.support import aws_calls

# (operation, AWS error code, HTTP status, AWS message, exception, words the message must hold)
CASES = [
    (
        "list_streams",
        "UnrecognizedClientException",
        400,
        "The security token included in the request is invalid.",
        kinesis.BadCredentials,
        ["does not recognise the access key ID AKIA…MPLE"],
    ),
    (
        "list_streams",
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
        kinesis.BadCredentials,
        ["does not recognise the access key ID"],
    ),
    (
        "list_streams",
        "InvalidSignatureException",
        400,
        "The request signature we calculated does not match the signature you provided.",
        kinesis.BadCredentials,
        ["secret access key does not match", "AKIA…MPLE"],
    ),
    (
        "list_streams",
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match.",
        kinesis.BadCredentials,
        ["secret access key does not match"],
    ),
    (
        "list_streams",
        "ExpiredTokenException",
        400,
        "The security token included in the request is expired",
        kinesis.BadCredentials,
        ["security token has expired"],
    ),
    (
        "list_streams",
        "InvalidSignatureException",
        400,
        "Signature expired: 20200101T000000Z is now earlier than 20200101T000500Z",
        kinesis.BadCredentials,
        ["clock is off"],
    ),
    (
        "put_records",
        "AccessDeniedException",
        400,
        "User is not authorized to perform: kinesis:PutRecords",
        kinesis.AccessDenied,
        ["not allowed to call kinesis:PutRecords", "“orders”", "Add “kinesis:PutRecords”"],
    ),
    (
        "list_streams",
        "AccessDeniedException",
        400,
        "not authorized",
        kinesis.AccessDenied,
        ["not allowed to call kinesis:ListStreams"],
    ),
    (
        "describe_stream_summary",
        "ResourceNotFoundException",
        400,
        "Stream orders under account 123456789012 not found.",
        kinesis.StreamNotFound,
        ["“orders” does not exist in us-east-1"],
    ),
    (
        "put_records",
        "ProvisionedThroughputExceededException",
        400,
        "Rate exceeded for stream orders",
        kinesis.Throttled,
        ["write limit", "1,000 records/s"],
    ),
    (
        "put_records",
        "KMSThrottlingException",
        400,
        "KMS rate exceeded",
        kinesis.Throttled,
        ["KMS is throttling"],
    ),
    (
        "list_streams",
        "LimitExceededException",
        400,
        "Rate exceeded",
        kinesis.Throttled,
        ["throttling requests (LimitExceededException)"],
    ),
    (
        "put_records",
        "KMSDisabledException",
        400,
        "disabled",
        kinesis.KmsError,
        ["KMS key is disabled"],
    ),
    (
        "put_records",
        "KMSAccessDeniedException",
        400,
        "denied",
        kinesis.KmsError,
        ["kms:GenerateDataKey"],
    ),
    (
        "put_records",
        "KMSNotFoundException",
        400,
        "not found",
        kinesis.KmsError,
        ["no longer exists"],
    ),
    (
        "put_records",
        "KMSInvalidStateException",
        400,
        "pending deletion",
        kinesis.KmsError,
        ["pending deletion"],
    ),
    (
        "put_records",
        "InternalFailure",
        500,
        "Internal service failure.",
        kinesis.TransientError,
        ["temporary problem", "InternalFailure"],
    ),
    (
        "put_records",
        "ServiceUnavailable",
        503,
        "Service unavailable",
        kinesis.TransientError,
        ["temporary problem"],
    ),
    (
        "put_records",
        "InvalidArgumentException",
        400,
        "Record size exceeds 1 MiB",
        kinesis.InvalidRequest,
        ["Record size exceeds 1 MiB"],
    ),
]

PARAMS = {
    "list_streams": {},
    "describe_stream_summary": {"stream_name": STREAM},
    "put_records": {"stream_name": STREAM, "entries": [(b"{}", "pk")]},
}


def call(operation: str, creds: kinesis.AwsCredentials) -> Any:
    return getattr(kinesis, operation)(creds, **PARAMS[operation])


@pytest.mark.parametrize(("operation", "code", "status", "aws_message", "error", "words"), CASES)
def test_it_maps_each_aws_error_with_a_specific_message(
    creds: kinesis.AwsCredentials,
    operation: str,
    code: str,
    status: int,
    aws_message: str,
    error: type[kinesis.KinesisError],
    words: list[str],
) -> None:
    botocore_client = clients.client_for("kinesis", creds)
    with Stubber(botocore_client) as stubber:
        stubber.add_client_error(
            operation,
            service_error_code=code,
            service_message=aws_message,
            http_status_code=status,
        )
        with pytest.raises(error) as raised:
            call(operation, creds)
    assert raised.value.code == code
    assert raised.value.permanent is error.permanent
    for word in words:
        assert word in raised.value.message
    assert creds.secret_access_key not in raised.value.message


def test_bad_credential_messages_are_distinct(creds: kinesis.AwsCredentials) -> None:
    messages = set()
    kinds = set()
    for code, message in [
        ("UnrecognizedClientException", "invalid token"),
        ("InvalidSignatureException", "signature does not match"),
        ("ExpiredTokenException", "expired"),
    ]:
        error = aws_calls.client_error(code, message)
        with aws_calls.call_hook(_raising(error)), pytest.raises(kinesis.BadCredentials) as raised:
            kinesis.list_streams(creds)
        messages.add(raised.value.message)
        kinds.add(raised.value.kind)
    assert len(messages) == 3
    assert kinds == {"unknown_key", "wrong_secret", "expired"}


def test_access_denied_names_the_action(creds: kinesis.AwsCredentials) -> None:
    error = aws_calls.client_error("AccessDeniedException")
    with aws_calls.call_hook(_raising(error)), pytest.raises(kinesis.AccessDenied) as raised:
        kinesis.put_record(creds, STREAM, b"{}", "pk")
    assert raised.value.action == "kinesis:PutRecord"
    assert "kinesis:PutRecord " in raised.value.message


def test_read_timeout_is_transient_and_may_have_succeeded(creds: kinesis.AwsCredentials) -> None:
    hook = _raising(aws_calls.read_timeout())
    with aws_calls.call_hook(hook), pytest.raises(kinesis.TransientError) as raised:
        kinesis.put_records(creds, STREAM, [(b"{}", "pk")])
    assert raised.value.may_have_succeeded is True
    assert raised.value.permanent is False
    assert "may have been processed" in raised.value.message


def test_internal_failure_has_not_succeeded(creds: kinesis.AwsCredentials) -> None:
    error = aws_calls.client_error("InternalFailure", status=500)
    with aws_calls.call_hook(_raising(error)), pytest.raises(kinesis.TransientError) as raised:
        kinesis.put_records(creds, STREAM, [(b"{}", "pk")])
    assert raised.value.may_have_succeeded is False


def test_connect_timeout_is_endpoint_unreachable(creds: kinesis.AwsCredentials) -> None:
    hook = _raising(aws_calls.connect_timeout())
    with aws_calls.call_hook(hook), pytest.raises(kinesis.EndpointUnreachable) as raised:
        kinesis.list_streams(creds)
    assert raised.value.permanent is False
    assert "Timed out connecting" in raised.value.message


def test_a_closed_port_is_endpoint_unreachable(settings: Any, creds: Any) -> None:
    from tests.support.local_kinesis import free_port

    settings.KINESIS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.KINESIS_MAX_ATTEMPTS = 1
    with pytest.raises(kinesis.EndpointUnreachable) as raised:
        kinesis.list_streams(creds)
    assert "Could not connect" in raised.value.message
    assert settings.KINESIS_ENDPOINT_URL in raised.value.message


@pytest.mark.parametrize("region", ["Frankfurt", "eu-west", "EU-WEST-1", ""])
def test_it_rejects_a_malformed_region(region: str) -> None:
    creds = kinesis.AwsCredentials(region=region, access_key_id="AKIAX", secret_access_key="s")
    with pytest.raises(kinesis.InvalidRegion) as raised:
        kinesis.list_streams(creds)
    assert raised.value.permanent is True
    assert "not an AWS region name" in raised.value.message


def test_it_rejects_a_region_without_kinesis() -> None:
    creds = kinesis.AwsCredentials(
        region="xx-nowhere-1", access_key_id="AKIAX", secret_access_key="s"
    )
    with pytest.raises(kinesis.InvalidRegion) as raised:
        kinesis.list_streams(creds)
    assert "not available in “xx-nowhere-1”" in raised.value.message


def test_a_local_endpoint_accepts_any_well_formed_region(settings: Any) -> None:
    settings.KINESIS_ENDPOINT_URL = "http://127.0.0.1:4566"
    kinesis.check_region("xx-nowhere-1")  # no exception


def test_missing_keys_are_bad_credentials() -> None:
    with pytest.raises(kinesis.BadCredentials) as raised:
        kinesis.list_streams(kinesis.AwsCredentials(region=REGION, access_key_id="AKIAX"))
    assert raised.value.kind == "missing"


def test_an_xml_error_body_is_read_for_its_code(creds: kinesis.AwsCredentials) -> None:
    body = (
        "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The request signature we calculated does not match</Message>"
        "</Error></Errors></ErrorResponse>"
    )
    error = aws_calls.client_error("403", body, status=403)
    with aws_calls.call_hook(_raising(error)), pytest.raises(kinesis.BadCredentials) as raised:
        kinesis.list_streams(creds)
    assert raised.value.code == "SignatureDoesNotMatch"
    assert raised.value.kind == "wrong_secret"


def test_permanent_flags() -> None:
    assert {cls.__name__ for cls in _subclasses() if cls.permanent} == {
        "BadCredentials",
        "AccessDenied",
        "StreamNotFound",
        "InvalidRegion",
        "InvalidRequest",
        "KmsError",
    }
    assert {cls.__name__ for cls in _subclasses() if not cls.permanent} == {
        "Throttled",
        "TransientError",
        "EndpointUnreachable",
    }


def _subclasses() -> list[type[kinesis.KinesisError]]:
    return list(kinesis.KinesisError.__subclasses__())


def _raising(error: Exception) -> aws_calls.CallHook:
    def hook(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise error

    return hook
