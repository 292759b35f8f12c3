"""The project's exceptions for AWS failures, and the mapping of botocore's errors to them.

Every caller of the AWS seam sees only these exceptions (all `KinesisError`s,
each with a `code`, a `permanent` flag and a message that says what is wrong
and how to fix it), never botocore's.

The messages are stored (health messages, permission-check details) and shown
to a person, so they are built from `StoredText` templates: the English text is
what the API, the logs and the tests read, and `core.stored_text.translate`
shows it in the reader's language. Raw AWS text (`%(message)s`) stays as AWS wrote it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import ClassVar

from core.stored_text import StoredText
from destinations.kinesis.aws.credentials import mask_key_id

logger = logging.getLogger(__name__)

# Parts that other sentences embed.
ENDPOINT_NAMED = StoredText("the %(service)s endpoint %(endpoint)s")
ENDPOINT_IN_REGION = StoredText("the AWS %(service)s endpoint in %(region)s")
ACCESS_KEY = StoredText("access key %(key_id)s")
THESE_CREDENTIALS = StoredText("these credentials")
ROLE = StoredText("role %(role_arn)s")

READ_TIMEOUT = StoredText(
    "AWS did not answer %(operation)s in time (%(endpoint)s). The request may have been "
    "processed anyway; it will be retried, and every record carries an id consumers can "
    "deduplicate on."
)
CONNECT_TIMEOUT = StoredText(
    "Timed out connecting to %(endpoint)s. Check that this server can reach AWS "
    "(firewall, proxy, VPC endpoint), then try again."
)
UNREACHABLE = StoredText(
    "Could not connect to %(endpoint)s. Check the region and that this server can reach "
    "AWS (DNS, firewall, proxy), then try again."
)
NO_CREDENTIALS = StoredText(
    "No AWS credentials to sign the request with: enter an access key ID and secret access key."
)
INVALID_REGION = StoredText(
    "“%(region)s” is not a valid AWS region. Choose your stream's region from the list."
)
INVALID_PARAMS = StoredText("Invalid request to %(operation)s: %(message)s")
CALL_FAILED = StoredText("AWS call %(operation)s failed: %(message)s")
NOT_AWS_ANSWER = StoredText(
    "%(endpoint)s answered %(operation)s with something that is not an AWS response (an "
    "error page of a proxy or endpoint?). Try again later."
)
OWN_CREDENTIALS_REJECTED = StoredText(
    "AWS rejected this server's own credentials, which it uses to assume your role. Ask "
    "the administrator to check the server's AWS credentials."
)
ROLE_CREDENTIALS_REJECTED = StoredText(
    "AWS rejected the temporary credentials of role %(role_arn)s. Try again; if it "
    "persists, check that the role still exists."
)
UNKNOWN_KEY = StoredText(
    "AWS does not recognise the access key ID %(key_id)s. Check that you copied the whole "
    "key ID and that the key is active in IAM (IAM → Users → Security credentials)."
)
UNKNOWN_KEY_OR_REGION = StoredText(
    "AWS does not recognise the access key ID %(key_id)s. Check that you copied the whole "
    "key ID and that the key is active in IAM (IAM → Users → Security credentials). If it "
    "is, the region may be an opt-in region not enabled for the account (Account settings "
    "→ AWS Regions)."
)
WRONG_SECRET = StoredText(
    "The secret access key does not match %(who)s (AWS rejected the request signature). "
    "Paste the secret that was shown when the key was created; if it is lost, create a new "
    "access key in IAM."
)
TOKEN_EXPIRED = StoredText(
    "The security token has expired. Temporary (session) credentials cannot be stored: use "
    "a long-lived access key, or an IAM role that we assume for you."
)
CLOCK_SKEW = StoredText(
    "AWS rejected the request because this server's clock is off by more than 5 minutes. "
    "Ask the administrator to synchronise the clock (NTP)."
)
STREAM_NOT_FOUND = StoredText(
    "The stream “%(stream)s” does not exist in %(region)s for this AWS account. Check the "
    "stream name and region, or create the stream in the Kinesis console."
)
IAM_ENTITY_MISSING = StoredText("%(action)s: the IAM entity does not exist")
KINESIS_REFUSED = StoredText("Kinesis refused %(operation)s: %(message)s.")
TEMPORARY_PROBLEM = StoredText(
    "AWS had a temporary problem with %(operation)s (%(code)s). It will be retried."
)
AWS_REFUSED = StoredText("AWS refused %(operation)s: %(code)s: %(message)s")
ASSUME_ROLE_DENIED = StoredText(
    "Access denied to sts:AssumeRole on %(role_arn)s. The role's trust policy must allow "
    "this platform's principal to assume it with the external ID shown here (condition "
    "sts:ExternalId), and the role ARN must be spelled exactly."
)
ACCESS_DENIED = StoredText(
    "Access denied: %(principal)s is not allowed to call %(action)s. Add “%(action)s” to "
    "the IAM policy attached to it (the connection's page shows the minimal policy, ready "
    "to copy)."
)
ACCESS_DENIED_ON_STREAM = StoredText(
    "Access denied: %(principal)s is not allowed to call %(action)s on stream "
    "“%(stream)s”. Add “%(action)s” to the IAM policy attached to it (the connection's "
    "page shows the minimal policy, ready to copy)."
)
KMS_UNUSABLE = StoredText("Kinesis cannot encrypt records for stream “%(stream)s”: %(reason)s.")
KMS_REASONS = {
    "KMSDisabledException": StoredText("the stream's KMS key is disabled; enable it in AWS KMS"),
    "KMSInvalidStateException": StoredText(
        "the stream's KMS key is not usable in its current state (for example pending "
        "deletion); cancel the deletion or re-encrypt the stream with another key"
    ),
    "KMSAccessDeniedException": StoredText(
        "the credentials may not use the stream's KMS key; allow kms:GenerateDataKey on "
        "that key in the IAM policy (and in the key policy)"
    ),
    "KMSNotFoundException": StoredText(
        "the stream's KMS key no longer exists; re-encrypt the stream with an existing key"
    ),
    "KMSOptInRequired": StoredText("the AWS account is not subscribed to AWS KMS; subscribe to it"),
}
STREAM_AT_LIMIT = StoredText(
    "Stream “%(stream)s” is at its write limit (1,000 records/s and 1 MiB/s per shard). "
    "Writes are retried with backoff; add shards or switch the stream to on-demand if this "
    "persists."
)
KMS_THROTTLED = StoredText(
    "AWS KMS is throttling the stream's encryption key. Writes are retried with backoff; "
    "raise the KMS request quota if this persists."
)
# Not errors: why the account id was looked up another way (the connect wizard's note).
NOT_STS = StoredText("%(endpoint)s does not answer as AWS STS does (%(code)s)")
STS_SKIPPED_ARN = StoredText(
    "STS GetCallerIdentity could not run (%(problem)s): the account id comes from the stream's ARN."
)
STS_SKIPPED_NO_ARN = StoredText(
    "STS GetCallerIdentity could not run (%(problem)s), and no stream ARN tells the account id."
)
THROTTLED = StoredText("AWS is throttling requests (%(code)s); they are retried with backoff.")


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
            READ_TIMEOUT(operation=operation, endpoint=endpoint_label(ctx)),
            code="ReadTimeout",
            may_have_succeeded=True,
        )
    if isinstance(exc, bx.ConnectTimeoutError):
        return EndpointUnreachable(
            CONNECT_TIMEOUT(endpoint=endpoint_label(ctx)),
            code="ConnectTimeout",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError):
        return EndpointUnreachable(
            UNREACHABLE(endpoint=endpoint_label(ctx)),
            code="EndpointUnreachable",
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return BadCredentials(
            NO_CREDENTIALS(),
            code="NoCredentials",
            kind="missing",
        )
    if isinstance(exc, bx.InvalidRegionError | bx.NoRegionError | bx.UnknownEndpointError):
        return InvalidRegion(
            INVALID_REGION(region=ctx.region),
            code="InvalidRegion",
        )
    if isinstance(exc, bx.ParamValidationError):
        return InvalidRequest(
            INVALID_PARAMS(operation=operation, message=exc), code="ParamValidation"
        )
    if isinstance(exc, bx.BotoCoreError):
        return TransientError(
            CALL_FAILED(operation=operation, message=exc), code=type(exc).__name__
        )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        # Not a BotoCoreError: an answer that is not AWS's (an endpoint or proxy error page).
        return TransientError(
            NOT_AWS_ANSWER(endpoint=endpoint_label(ctx), operation=operation),
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
        return ENDPOINT_NAMED(service=ctx.service, endpoint=ctx.endpoint)
    return ENDPOINT_IN_REGION(service=ctx.service, region=ctx.region)


def _map_client_error(
    code: str, message: str, status: int, *, operation: str, ctx: CallContext
) -> KinesisError:
    action = f"{_SERVICE_PREFIX.get(ctx.service, ctx.service)}:{operation}"
    who = ACCESS_KEY(key_id=mask_key_id(ctx.key_id)) if ctx.key_id else THESE_CREDENTIALS()
    if code in _UNKNOWN_KEY:
        if ctx.role_arn and ctx.service == "sts" and not ctx.key_id:
            return BadCredentials(
                OWN_CREDENTIALS_REJECTED(),
                code=code,
                kind="unknown_key",
            )
        if ctx.role_arn and ctx.service != "sts":
            return BadCredentials(
                ROLE_CREDENTIALS_REJECTED(role_arn=ctx.role_arn),
                code=code,
                kind="unknown_key",
            )
        # Kinesis answers an opt-in region the account has not enabled as an unknown key.
        unknown = UNKNOWN_KEY_OR_REGION if ctx.service == "kinesis" else UNKNOWN_KEY
        return BadCredentials(
            unknown(key_id=mask_key_id(ctx.key_id)),
            code=code,
            kind="unknown_key",
        )
    if code in _WRONG_SECRET:
        if "Signature expired" in message:
            return _clock_skew(code)
        return BadCredentials(
            WRONG_SECRET(who=who),
            code=code,
            kind="wrong_secret",
        )
    if code in _EXPIRED:
        return BadCredentials(
            TOKEN_EXPIRED(),
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
            STREAM_NOT_FOUND(stream=ctx.stream, region=ctx.region),
            code=code,
        )
    if code == "NoSuchEntity":
        # AWS's own words when it gave some: they stay as AWS wrote them.
        text = f"{action}: {message}" if message else IAM_ENTITY_MISSING(action=action)
        return InvalidRequest(text, code=code)
    if code in _INVALID:
        return InvalidRequest(
            KINESIS_REFUSED(operation=operation, message=message or code), code=code
        )
    if code in _TRANSIENT or status >= 500:
        return TransientError(
            TEMPORARY_PROBLEM(operation=operation, code=code),
            code=code,
        )
    return KinesisError(AWS_REFUSED(operation=operation, code=code, message=message), code=code)


def _clock_skew(code: str) -> BadCredentials:
    return BadCredentials(
        CLOCK_SKEW(),
        code=code,
        kind="clock_skew",
    )


def _access_denied(code: str, message: str, *, action: str, ctx: CallContext) -> AccessDenied:
    if action == "sts:AssumeRole":
        return AccessDenied(
            ASSUME_ROLE_DENIED(role_arn=ctx.role_arn),
            action=action,
            code=code,
        )
    principal = (
        ROLE(role_arn=ctx.role_arn) if ctx.role_arn else ACCESS_KEY(key_id=mask_key_id(ctx.key_id))
    )
    if ctx.stream:
        text = ACCESS_DENIED_ON_STREAM(principal=principal, action=action, stream=ctx.stream)
    else:
        text = ACCESS_DENIED(principal=principal, action=action)
    return AccessDenied(
        text,
        action=action,
        code=code,
    )


def _kms_error(code: str, *, ctx: CallContext) -> KmsError:
    return KmsError(KMS_UNUSABLE(stream=ctx.stream, reason=KMS_REASONS[code]()), code=code)


def _throttled(code: str, *, ctx: CallContext) -> Throttled:
    if code == "ProvisionedThroughputExceededException":
        text = STREAM_AT_LIMIT(stream=ctx.stream)
    elif code == "KMSThrottlingException":
        text = KMS_THROTTLED()
    else:
        text = THROTTLED(code=code)
    return Throttled(text, code=code)
