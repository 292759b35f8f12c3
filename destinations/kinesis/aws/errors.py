"""The project's exceptions for AWS failures, and the mapping of botocore's errors to them.

Every caller of the AWS seam sees only these exceptions (all `KinesisError`s,
each with a `code`, a `permanent` flag and a message that says what is wrong
and how to fix it), never botocore's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import ClassVar

from destinations.kinesis.aws.credentials import mask_key_id

logger = logging.getLogger(__name__)


class KinesisError(Exception):
    """Something went wrong talking to AWS; the message says what and how to fix it."""

    permanent: ClassVar[bool] = False
    default_code: ClassVar[str] = "KinesisError"

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message


class BadCredentials(KinesisError):  # noqa: N818 - names callers know
    """AWS rejected the credentials (unknown key, wrong secret, expired token)."""

    permanent = True
    default_code = "BadCredentials"

    def __init__(self, message: str, *, code: str = "", kind: str = "unknown_key") -> None:
        super().__init__(message, code=code)
        # unknown_key | wrong_secret | expired | clock_skew | missing
        self.kind = kind


class AccessDenied(KinesisError):  # noqa: N818 - names callers know
    """The credentials are valid but not allowed to call `action`."""

    permanent = True
    default_code = "AccessDeniedException"

    def __init__(self, message: str, *, action: str, code: str = "") -> None:
        super().__init__(message, code=code)
        self.action = action


class StreamNotFound(KinesisError):  # noqa: N818 - names callers know
    permanent = True
    default_code = "ResourceNotFoundException"


class InvalidRegion(KinesisError):  # noqa: N818 - names callers know
    permanent = True
    default_code = "InvalidRegion"


class InvalidRequest(KinesisError):  # noqa: N818 - names callers know
    """AWS refused the request itself (bad argument, record too large)."""

    permanent = True
    default_code = "InvalidArgumentException"


class KmsError(KinesisError):
    """The stream's KMS key cannot be used (disabled, not found, not allowed)."""

    permanent = True
    default_code = "KMSAccessDeniedException"


class EndpointUnreachable(KinesisError):  # noqa: N818 - names callers know
    default_code = "EndpointUnreachable"


class Throttled(KinesisError):  # noqa: N818 - names callers know
    default_code = "ProvisionedThroughputExceededException"


class TransientError(KinesisError):
    default_code = "InternalFailure"

    def __init__(self, message: str, *, code: str = "", may_have_succeeded: bool = False) -> None:
        super().__init__(message, code=code)
        # A read timeout means AWS may have written the records before we gave up.
        self.may_have_succeeded = may_have_succeeded


@dataclass(frozen=True)
class CallContext:
    """What an error message needs to be specific; never holds the secret."""

    service: str
    region: str
    key_id: str = ""
    role_arn: str = ""
    stream: str = ""
    endpoint: str = ""


@contextmanager
def aws_errors(operation: str, ctx: CallContext) -> Iterator[None]:
    """Let only `KinesisError`s out of the block: every botocore failure is mapped."""
    try:
        yield
    except KinesisError:
        raise
    except Exception as exc:
        mapped = map_error(exc, operation=operation, ctx=ctx)
        if mapped is None:
            raise
        logger.info(
            "AWS %s:%s failed: %s (%s)", ctx.service, operation, mapped.code, type(mapped).__name__
        )
        raise mapped from exc


_UNKNOWN_KEY = {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"}
_WRONG_SECRET = {"SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"}
_CLOCK_SKEW = {"RequestExpired", "RequestTimeTooSkewed"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NotAuthorized"}
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "KMSThrottlingException",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
}
_KMS = {
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSAccessDeniedException",
    "KMSNotFoundException",
    "KMSOptInRequired",
}
_TRANSIENT = {
    "InternalFailure",
    "InternalFailureException",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ResourceInUseException",
}
_INVALID = {
    "InvalidArgumentException",
    "ValidationException",
    "ValidationError",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "SerializationException",
}
_SERVICE_PREFIX = {"kinesis": "kinesis", "sts": "sts", "iam": "iam"}


def entry_error_retryable(code: str) -> bool:
    """Is a per-record ErrorCode of PutRecords worth sending that record again?

    AWS documents ProvisionedThroughputExceededException and InternalFailure;
    KMS throttling and the other throttling or transient codes mean the same
    ("later"). Any other code (InvalidArgumentException, or one we do not know,
    as another Kinesis implementation may answer) is about the record itself.
    """
    return code in _THROTTLED or code in _TRANSIENT


def map_error(exc: Exception, *, operation: str, ctx: CallContext) -> KinesisError | None:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError) and exc.operation_name == "AssumeRole":
        # botocore refreshes a role's credentials inside whatever call needs them:
        # the failure is about the role, not the call that happened to trigger it.
        operation, ctx = "AssumeRole", replace(ctx, service="sts", stream="")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code, message = _unwrap_xml_error(code, message)
        return _map_client_error(code, message, status, operation=operation, ctx=ctx)
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectionClosedError):
        return TransientError(
            f"AWS did not answer {operation} in time ({endpoint_label(ctx)}). The request may "
            "have been processed anyway; it will be retried, and every record carries an id "
            "consumers can deduplicate on.",
            code="ReadTimeout",
            may_have_succeeded=True,
        )
    if isinstance(exc, bx.ConnectTimeoutError):
        return EndpointUnreachable(
            f"Timed out connecting to {endpoint_label(ctx)}. Check that this server can reach "
            "AWS (firewall, proxy, VPC endpoint), then try again.",
            code="ConnectTimeout",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError):
        return EndpointUnreachable(
            f"Could not connect to {endpoint_label(ctx)}. Check the region and that this "
            "server can reach AWS (DNS, firewall, proxy), then try again.",
            code="EndpointUnreachable",
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return BadCredentials(
            "No AWS credentials to sign the request with: enter an access key ID and "
            "secret access key.",
            code="NoCredentials",
            kind="missing",
        )
    if isinstance(exc, bx.InvalidRegionError | bx.NoRegionError | bx.UnknownEndpointError):
        return InvalidRegion(
            f"“{ctx.region}” is not a valid AWS region. Choose your stream's region from the list.",
            code="InvalidRegion",
        )
    if isinstance(exc, bx.ParamValidationError):
        return InvalidRequest(f"Invalid request to {operation}: {exc}", code="ParamValidation")
    if isinstance(exc, bx.BotoCoreError):
        return TransientError(f"AWS call {operation} failed: {exc}", code=type(exc).__name__)
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        # Not a BotoCoreError: an answer that is not AWS's (an endpoint or proxy error page).
        return TransientError(
            f"{endpoint_label(ctx)} answered {operation} with something that is not an AWS "
            "response (an error page of a proxy or endpoint?). Try again later.",
            code="ResponseParserError",
        )
    return None


_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def _unwrap_xml_error(code: str, message: str) -> tuple[str, str]:
    """The real code when a JSON-protocol service answered with an XML error body.

    botocore then reports only the HTTP status as the code; local endpoints and
    some proxies answer that way.
    """
    if not code.isdigit():
        return code, message
    found = _XML_CODE.search(message)
    if not found:
        return code, message
    text = _XML_MESSAGE.search(message)
    return found.group(1), text.group(1) if text else ""


def endpoint_label(ctx: CallContext) -> str:
    if ctx.endpoint:
        return f"the {ctx.service} endpoint {ctx.endpoint}"
    return f"the AWS {ctx.service} endpoint in {ctx.region}"


def _map_client_error(
    code: str, message: str, status: int, *, operation: str, ctx: CallContext
) -> KinesisError:
    action = f"{_SERVICE_PREFIX.get(ctx.service, ctx.service)}:{operation}"
    who = f"access key {mask_key_id(ctx.key_id)}" if ctx.key_id else "these credentials"
    if code in _UNKNOWN_KEY:
        opt_in = (
            " If it is, the region may be an opt-in region not enabled for the account "
            "(Account settings → AWS Regions)."
            if ctx.service == "kinesis"
            else ""
        )
        if ctx.role_arn and ctx.service == "sts" and not ctx.key_id:
            return BadCredentials(
                "AWS rejected this server's own credentials, which it uses to assume your "
                "role. Ask the administrator to check the server's AWS credentials.",
                code=code,
                kind="unknown_key",
            )
        if ctx.role_arn and ctx.service != "sts":
            return BadCredentials(
                f"AWS rejected the temporary credentials of role {ctx.role_arn}. Try again; if "
                "it persists, check that the role still exists.",
                code=code,
                kind="unknown_key",
            )
        return BadCredentials(
            f"AWS does not recognise the access key ID {mask_key_id(ctx.key_id)}. Check that "
            "you copied the whole key ID and that the key is active in IAM "
            "(IAM → Users → Security credentials)." + opt_in,
            code=code,
            kind="unknown_key",
        )
    if code in _WRONG_SECRET:
        if "Signature expired" in message:
            return _clock_skew(code)
        return BadCredentials(
            f"The secret access key does not match {who} (AWS rejected the request "
            "signature). Paste the secret that was shown when the key was created; if it is "
            "lost, create a new access key in IAM.",
            code=code,
            kind="wrong_secret",
        )
    if code in _EXPIRED:
        return BadCredentials(
            "The security token has expired. Temporary (session) credentials cannot be "
            "stored: use a long-lived access key, or an IAM role that we assume for you.",
            code=code,
            kind="expired",
        )
    if code in _CLOCK_SKEW:
        return _clock_skew(code)
    if code in _DENIED:
        return _access_denied(code, message, action=action, ctx=ctx)
    if code in _KMS:
        return _kms_error(code, ctx=ctx)
    if code in _THROTTLED:
        return _throttled(code, ctx=ctx)
    if code == "ResourceNotFoundException" and ctx.service == "kinesis":
        return StreamNotFound(
            f"The stream “{ctx.stream}” does not exist in {ctx.region} for this AWS account. "
            "Check the stream name and region, or create the stream in the Kinesis console.",
            code=code,
        )
    if code == "NoSuchEntity":
        return InvalidRequest(f"{action}: {message or 'the IAM entity does not exist'}", code=code)
    if code in _INVALID:
        return InvalidRequest(f"Kinesis refused {operation}: {message or code}.", code=code)
    if code in _TRANSIENT or status >= 500:
        return TransientError(
            f"AWS had a temporary problem with {operation} ({code}). It will be retried.",
            code=code,
        )
    return KinesisError(f"AWS refused {operation}: {code}: {message}", code=code)


def _clock_skew(code: str) -> BadCredentials:
    return BadCredentials(
        "AWS rejected the request because this server's clock is off by more than 5 "
        "minutes. Ask the administrator to synchronise the clock (NTP).",
        code=code,
        kind="clock_skew",
    )


def _access_denied(code: str, message: str, *, action: str, ctx: CallContext) -> AccessDenied:
    if action == "sts:AssumeRole":
        return AccessDenied(
            f"Access denied to sts:AssumeRole on {ctx.role_arn}. The role's trust policy must "
            "allow this platform's principal to assume it with the external ID shown here "
            "(condition sts:ExternalId), and the role ARN must be spelled exactly.",
            action=action,
            code=code,
        )
    principal = f"role {ctx.role_arn}" if ctx.role_arn else f"access key {mask_key_id(ctx.key_id)}"
    target = f" on stream “{ctx.stream}”" if ctx.stream else ""
    return AccessDenied(
        f"Access denied: {principal} is not allowed to call {action}{target}. Add "
        f"“{action}” to the IAM policy attached to it (the connection's page shows the "
        "minimal policy, ready to copy).",
        action=action,
        code=code,
    )


def _kms_error(code: str, *, ctx: CallContext) -> KmsError:
    reasons = {
        "KMSDisabledException": "the stream's KMS key is disabled; enable it in AWS KMS",
        "KMSInvalidStateException": (
            "the stream's KMS key is not usable in its current state (for example pending "
            "deletion); cancel the deletion or re-encrypt the stream with another key"
        ),
        "KMSAccessDeniedException": (
            "the credentials may not use the stream's KMS key; allow kms:GenerateDataKey on "
            "that key in the IAM policy (and in the key policy)"
        ),
        "KMSNotFoundException": (
            "the stream's KMS key no longer exists; re-encrypt the stream with an existing key"
        ),
        "KMSOptInRequired": "the AWS account is not subscribed to AWS KMS; subscribe to it",
    }
    return KmsError(
        f"Kinesis cannot encrypt records for stream “{ctx.stream}”: {reasons[code]}.", code=code
    )


def _throttled(code: str, *, ctx: CallContext) -> Throttled:
    if code == "ProvisionedThroughputExceededException":
        text = (
            f"Stream “{ctx.stream}” is at its write limit (1,000 records/s and 1 MiB/s per "
            "shard). Writes are retried with backoff; add shards or switch the stream to "
            "on-demand if this persists."
        )
    elif code == "KMSThrottlingException":
        text = (
            "AWS KMS is throttling the stream's encryption key. Writes are retried with "
            "backoff; raise the KMS request quota if this persists."
        )
    else:
        text = f"AWS is throttling requests ({code}); they are retried with backoff."
    return Throttled(text, code=code)
