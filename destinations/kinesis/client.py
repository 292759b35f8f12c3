"""The one module that talks to AWS (Kinesis, STS, IAM).

Every caller gets plain dataclasses back and only the exceptions defined here
(all subclasses of `KinesisError`, each with a `code`, a `permanent` flag and
a message that says what is wrong and how to fix it). Nobody outside this
module imports boto3 or botocore.

Clients are created lazily, cached per process (the cache key includes
`os.getpid()` and the cache is cleared in a forked child, so a client never
crosses a fork), with botocore's standard retry mode, connect/read timeouts
and a connection pool sized to the worker's threads. For IAM-role
connections AssumeRole runs first and the temporary credentials are cached
until five minutes before they expire.

Fault injection (tests, fault drills)
-------------------------------------
Every AWS call goes through `_call(client, operation, ...)`, which hands the
call to the installed *call hook* when there is one::

    def hook(service: str, operation: str, params: dict, proceed) -> dict:
        # service: "kinesis" | "sts" | "iam"; operation: "PutRecords", ...
        # proceed() makes the real call and returns its response dict.
        ...

A hook can

* raise an error as AWS would: ``raise client_error("ProvisionedThroughputExceededException")``,
  ``raise read_timeout()``, ``raise connect_timeout()`` (botocore exceptions,
  built here so callers need not import botocore) -- they go through the same
  mapping as real errors and reach the caller as project exceptions;
* fabricate a response without calling AWS (``return {"FailedRecordCount": 0, ...}``);
* call ``proceed()`` and alter the real response, e.g. mark some records of a
  PutRecords call as failed (``fail_records(response, [0, 3])``).

Install it with ``with call_hook(hook): ...`` (or ``set_call_hook(hook)`` /
``set_call_hook(None)``). A worker *process* picks up a hook from the
environment variable ``KINESIS_CALL_HOOK="package.module:function"`` at its
first AWS call, so integration tests can inject faults into a real Celery
worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import logging
import os
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings

if TYPE_CHECKING:
    from destinations.models import Connection

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Credentials and results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsCredentials:
    """What a connection authenticates with. The secret never shows in repr()."""

    region: str
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    role_arn: str = ""
    external_id: str = field(default="", repr=False)

    @property
    def uses_role(self) -> bool:
        return bool(self.role_arn)

    @property
    def masked_access_key_id(self) -> str:
        return mask_key_id(self.access_key_id)


def mask_key_id(key: str) -> str:
    """AKIA…WXYZ: enough to recognise a key, not enough to use it."""
    if len(key) <= 8:
        return "…" if key else ""
    return f"{key[:4]}…{key[-4:]}"


def credentials_for(connection: Connection) -> AwsCredentials:
    """The credentials stored on a connection, secret decrypted (never logged)."""
    from destinations.models import AuthMethod

    uses_role = connection.auth_method == AuthMethod.IAM_ROLE
    return AwsCredentials(
        region=connection.region,
        access_key_id=connection.access_key_id,
        secret_access_key=connection.get_secret() if connection.access_key_id else "",
        role_arn=connection.role_arn if uses_role else "",
        external_id=connection.external_id if uses_role else "",
    )


# Kinesis' record size limit when DescribeStreamSummary does not report one
# (MaxRecordSizeInKiB: 1 MiB by default, up to 10 MiB per stream).
DEFAULT_MAX_RECORD_KIB = 1024


@dataclass(frozen=True)
class StreamSummary:
    name: str
    arn: str
    status: str  # CREATING | DELETING | ACTIVE | UPDATING
    mode: str  # PROVISIONED | ON_DEMAND
    shard_count: int
    encryption: str  # NONE | KMS
    key_id: str = ""
    # The largest record (data plus partition key) the stream accepts.
    max_record_kib: int = DEFAULT_MAX_RECORD_KIB

    @property
    def max_record_bytes(self) -> int:
        return self.max_record_kib * 1024

    @property
    def account_id(self) -> str:
        return account_id_of_arn(self.arn)


@dataclass(frozen=True)
class PutResult:
    shard_id: str
    sequence_number: str


@dataclass(frozen=True)
class EntryResult:
    shard_id: str | None
    sequence_number: str | None
    error_code: str | None
    error_message: str | None

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass(frozen=True)
class StreamRecord:
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes = field(repr=False)
    arrived_at: dt.datetime | None = None


# --------------------------------------------------------------------------
# Regions, ARNs
# --------------------------------------------------------------------------

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_PARTITIONS = ("aws", "aws-us-gov", "aws-cn")


def kinesis_regions() -> list[str]:
    """Every region botocore knows Kinesis in (commercial, GovCloud, China)."""
    return list(_kinesis_regions())


@functools.cache
def _kinesis_regions() -> tuple[str, ...]:
    # A new botocore session loads its endpoint data from disk (~0.4 s): once per process.
    import botocore.session

    session = botocore.session.get_session()
    regions: list[str] = []
    for partition in _PARTITIONS:
        regions += session.get_available_regions("kinesis", partition_name=partition)
    return tuple(regions)


def kinesis_region_choices() -> list[tuple[str, str]]:
    """(region, "us-east-1 — US East (N. Virginia)") for a select box."""
    import botocore.session

    descriptions: dict[str, str] = {}
    for partition in botocore.session.get_session().get_data("endpoints")["partitions"]:
        for region, info in partition.get("regions", {}).items():
            descriptions[region] = info.get("description", "")
    return [
        (region, f"{region} — {descriptions[region]}" if descriptions.get(region) else region)
        for region in kinesis_regions()
    ]


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def stream_arn(*, region: str, account_id: str, stream_name: str) -> str:
    """The ARN of a stream (account '*' when unknown)."""
    return f"arn:{partition_of(region)}:kinesis:{region}:{account_id or '*'}:stream/{stream_name}"


def check_region(region: str) -> None:
    """Raise InvalidRegion unless Kinesis exists in `region`."""
    if not _REGION_RE.match(region or ""):
        raise InvalidRegion(
            f"“{region}” is not an AWS region name. Choose your stream's region from the "
            "list, e.g. us-east-1 or eu-west-1.",
            code="InvalidRegion",
        )
    # A local endpoint (moto) serves any region; real AWS only the known ones.
    if _endpoint("kinesis") is None and region not in kinesis_regions():
        raise InvalidRegion(
            f"Amazon Kinesis is not available in “{region}”. Choose the region your "
            "stream lives in from the list (it is shown in the Kinesis console's URL "
            "and the stream's ARN).",
            code="InvalidRegion",
        )


# --------------------------------------------------------------------------
# Fault-injection seam
# --------------------------------------------------------------------------

CallHook = Callable[[str, str, dict[str, Any], Callable[[], dict[str, Any]]], dict[str, Any]]
_hook: CallHook | None = None
_env_hook_loaded = False


def set_call_hook(hook: CallHook | None) -> None:
    """Install (or with None remove) the hook every AWS call passes through."""
    global _hook
    _hook = hook


@contextmanager
def call_hook(hook: CallHook) -> Iterator[None]:
    """Install a call hook for the duration of a with-block."""
    previous = _hook
    set_call_hook(hook)
    try:
        yield
    finally:
        set_call_hook(previous)


def _load_env_hook() -> None:
    global _env_hook_loaded, _hook
    _env_hook_loaded = True
    target = os.environ.get("KINESIS_CALL_HOOK", "")
    if target and _hook is None:
        module_name, _, attribute = target.partition(":")
        _hook = getattr(importlib.import_module(module_name), attribute)
        logger.warning("AWS call hook installed from KINESIS_CALL_HOOK=%s", target)


def client_error(
    code: str, message: str = "", *, operation: str = "PutRecords", status: int = 400
) -> Exception:
    """A botocore ClientError as AWS would answer it, for call hooks to raise."""
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def read_timeout(endpoint: str = "https://kinesis.amazonaws.com") -> Exception:
    """A botocore read timeout (the request may have been processed)."""
    from botocore.exceptions import ReadTimeoutError

    return ReadTimeoutError(endpoint_url=endpoint)


def connect_timeout(endpoint: str = "https://kinesis.amazonaws.com") -> Exception:
    """A botocore connect timeout (the request never left)."""
    from botocore.exceptions import ConnectTimeoutError

    return ConnectTimeoutError(endpoint_url=endpoint)


def fail_records(
    response: dict[str, Any],
    indexes: list[int],
    code: str = "ProvisionedThroughputExceededException",
    message: str = "Rate exceeded for shard (injected).",
) -> dict[str, Any]:
    """Mark some entries of a PutRecords response as failed, as AWS does per record."""
    for index in indexes:
        response["Records"][index] = {"ErrorCode": code, "ErrorMessage": message}
    response["FailedRecordCount"] = sum(1 for r in response["Records"] if "ErrorCode" in r)
    return response


@dataclass(frozen=True)
class _Context:
    """What an error message needs to be specific; never holds the secret."""

    service: str
    region: str
    key_id: str = ""
    role_arn: str = ""
    stream: str = ""
    endpoint: str = ""


def _call(client: Any, operation: str, *, ctx: _Context, **params: Any) -> dict[str, Any]:
    """Make one AWS call through the hook, mapping every failure to a KinesisError."""
    from botocore import xform_name

    if not _env_hook_loaded:
        _load_env_hook()
    method = getattr(client, xform_name(operation))

    def proceed() -> dict[str, Any]:
        return method(**params)

    try:
        if _hook is not None:
            return _hook(ctx.service, operation, params, proceed)
        return proceed()
    except KinesisError:
        raise
    except Exception as exc:
        mapped = _map_error(exc, operation=operation, ctx=ctx)
        if mapped is None:
            raise
        logger.info(
            "AWS %s:%s failed: %s (%s)", ctx.service, operation, mapped.code, type(mapped).__name__
        )
        if isinstance(mapped, BadCredentials) and mapped.kind == "expired":
            _forget_assumed_role(ctx.role_arn)
        raise mapped from exc


# --------------------------------------------------------------------------
# Error mapping
# --------------------------------------------------------------------------

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


def _map_error(exc: Exception, *, operation: str, ctx: _Context) -> KinesisError | None:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code, message = _unwrap_xml_error(code, message)
        return _map_client_error(code, message, status, operation=operation, ctx=ctx)
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectionClosedError):
        return TransientError(
            f"AWS did not answer {operation} in time ({_endpoint_label(ctx)}). The request may "
            "have been processed anyway; it will be retried, and every record carries an id "
            "consumers can deduplicate on.",
            code="ReadTimeout",
            may_have_succeeded=True,
        )
    if isinstance(exc, bx.ConnectTimeoutError):
        return EndpointUnreachable(
            f"Timed out connecting to {_endpoint_label(ctx)}. Check that this server can reach "
            "AWS (firewall, proxy, VPC endpoint), then try again.",
            code="ConnectTimeout",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError):
        return EndpointUnreachable(
            f"Could not connect to {_endpoint_label(ctx)}. Check the region and that this "
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
            f"{_endpoint_label(ctx)} answered {operation} with something that is not an AWS "
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


def _endpoint_label(ctx: _Context) -> str:
    if ctx.endpoint:
        return f"the {ctx.service} endpoint {ctx.endpoint}"
    return f"the AWS {ctx.service} endpoint in {ctx.region}"


def _map_client_error(
    code: str, message: str, status: int, *, operation: str, ctx: _Context
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


def _access_denied(code: str, message: str, *, action: str, ctx: _Context) -> AccessDenied:
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


def _kms_error(code: str, *, ctx: _Context) -> KmsError:
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


def _throttled(code: str, *, ctx: _Context) -> Throttled:
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


# --------------------------------------------------------------------------
# Clients (cached per process, never across a fork)
# --------------------------------------------------------------------------

_lock = threading.RLock()
_clients: OrderedDict[tuple, Any] = OrderedDict()
_assumed: dict[tuple, tuple[str, str, str, dt.datetime]] = {}
_sessions: dict[int, Any] = {}
_platform_principal: dict[int, str | None] = {}
_MAX_CLIENTS = 64
_REFRESH_BEFORE = dt.timedelta(minutes=5)
_LOCAL_PLATFORM_KEY = ("AKIALOCALPLATFORM000", "local-endpoint-only")


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.RLock()
    _clients.clear()
    _assumed.clear()
    _sessions.clear()
    _platform_principal.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def clear_client_cache() -> None:
    """Drop every cached client, assumed-role credential and identity (tests, key rotation)."""
    with _lock:
        _clients.clear()
        _assumed.clear()
        _sessions.clear()
        _platform_principal.clear()


_ENDPOINT_SETTINGS = {
    "kinesis": "KINESIS_ENDPOINT_URL",
    "sts": "STS_ENDPOINT_URL",
    "iam": "IAM_ENDPOINT_URL",
}


def _endpoint(service: str) -> str | None:
    """The service's own endpoint setting (None: AWS's): never another service's."""
    return getattr(settings, _ENDPOINT_SETTINGS[service], None) or None


def _config() -> Any:
    from botocore.config import Config

    workers = int(getattr(settings, "CELERY_WORKER_CONCURRENCY", 2) or 2)
    return Config(
        retries={
            "mode": "standard",
            "total_max_attempts": int(getattr(settings, "KINESIS_MAX_ATTEMPTS", 3)),
        },
        connect_timeout=float(getattr(settings, "KINESIS_CONNECT_TIMEOUT", 5)),
        read_timeout=float(getattr(settings, "KINESIS_READ_TIMEOUT", 20)),
        # Threads of one process share the client; one connection each, plus headroom.
        max_pool_connections=int(getattr(settings, "KINESIS_MAX_POOL_CONNECTIONS", 0))
        or max(10, workers * 4),
        user_agent_extra="streamline-kinesis-destination",
        # Endpoints come from our settings only, never from botocore's AWS_ENDPOINT_URL*.
        ignore_configured_endpoint_urls=True,
    )


def _session() -> Any:
    import botocore.session

    pid = os.getpid()
    with _lock:
        if pid not in _sessions:
            _sessions.clear()
            _sessions[pid] = botocore.session.get_session()
        return _sessions[pid]


def _secret_digest(secret: str) -> str:
    # The cache key must tell secrets apart without keeping another copy of them.
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _raw_client(service: str, region: str, key: str, secret: str, token: str | None = None) -> Any:
    cache_key = (os.getpid(), service, region, key, _secret_digest(secret), token or "")
    cache_key += (_endpoint(service),)
    with _lock:
        client = _clients.get(cache_key)
        if client is not None:
            _clients.move_to_end(cache_key)
            return client
        client = _session().create_client(
            service,
            region_name=region,
            endpoint_url=_endpoint(service),
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=_config(),
        )
        _clients[cache_key] = client
        while len(_clients) > _MAX_CLIENTS:
            _clients.popitem(last=False)
        return client


def _platform_keys() -> tuple[str, str, str | None]:
    """This server's own AWS credentials, used to assume customers' roles."""
    found = _session().get_credentials()
    if found is not None:
        frozen = found.get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token
    if _endpoint("sts"):
        # A local endpoint (moto) accepts any signature; real AWS never gets here.
        return (*_LOCAL_PLATFORM_KEY, None)
    raise BadCredentials(
        "This server has no AWS credentials of its own, so it cannot assume IAM roles. "
        "Connect with an access key instead, or ask the administrator to give the server "
        "AWS credentials (environment, instance profile).",
        code="NoCredentials",
        kind="missing",
    )


def _base_keys(creds: AwsCredentials) -> tuple[str, str, str | None]:
    if creds.access_key_id:
        return creds.access_key_id, creds.secret_access_key, None
    return _platform_keys()


def _assume_key(creds: AwsCredentials) -> tuple:
    return (
        os.getpid(),
        creds.role_arn,
        creds.external_id,
        creds.access_key_id,
        _secret_digest(creds.secret_access_key),
    )


def _forget_assumed_role(role_arn: str) -> None:
    if not role_arn:
        return
    with _lock:
        for key in [k for k in _assumed if k[1] == role_arn]:
            _assumed.pop(key, None)


def _assumed_keys(creds: AwsCredentials) -> tuple[str, str, str]:
    key = _assume_key(creds)
    now = dt.datetime.now(dt.UTC)
    with _lock:
        cached = _assumed.get(key)
    if cached and cached[3] - now > _REFRESH_BEFORE:
        return cached[0], cached[1], cached[2]
    base_key, base_secret, base_token = _base_keys(creds)
    sts = _raw_client("sts", creds.region, base_key, base_secret, base_token)
    params: dict[str, Any] = {
        "RoleArn": creds.role_arn,
        "RoleSessionName": "streamline-kinesis-destination",
        "DurationSeconds": 3600,
    }
    if creds.external_id:
        params["ExternalId"] = creds.external_id
    response = _call(
        sts,
        "AssumeRole",
        ctx=_Context(
            service="sts",
            region=creds.region,
            key_id=creds.access_key_id,
            role_arn=creds.role_arn,
            endpoint=_endpoint("sts") or "",
        ),
        **params,
    )
    issued = response["Credentials"]
    expiration = issued.get("Expiration") or now + dt.timedelta(hours=1)
    if isinstance(expiration, str):
        expiration = dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=dt.UTC)
    entry = (issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"], expiration)
    with _lock:
        _assumed[key] = entry
    return entry[0], entry[1], entry[2]


def _client(service: str, creds: AwsCredentials) -> tuple[Any, _Context]:
    """A cached client for the credentials (assuming the role first) and its error context."""
    check_region(creds.region)
    if creds.uses_role:
        key, secret, token = _assumed_keys(creds)
    else:
        if not creds.access_key_id or not creds.secret_access_key:
            raise BadCredentials(
                "Enter both the access key ID and the secret access key.",
                code="NoCredentials",
                kind="missing",
            )
        key, secret, token = creds.access_key_id, creds.secret_access_key, None
    ctx = _Context(
        service=service,
        region=creds.region,
        key_id=creds.access_key_id,
        role_arn=creds.role_arn,
        endpoint=_endpoint(service) or "",
    )
    return _raw_client(service, creds.region, key, secret, token), ctx


def _kinesis(creds: AwsCredentials, stream_name: str = "") -> tuple[Any, _Context]:
    client, ctx = _client("kinesis", creds)
    return client, _Context(**{**ctx.__dict__, "stream": stream_name})


# --------------------------------------------------------------------------
# Public operations
# --------------------------------------------------------------------------

_MAX_STREAM_PAGES = 200


@dataclass(frozen=True)
class StreamListing:
    """ListStreams' answer: the names, and each stream's ARN where the endpoint gives it."""

    names: list[str]
    arns: dict[str, str] = field(default_factory=dict)


def list_stream_listing(creds: AwsCredentials) -> StreamListing:
    """Every stream in the account and region (all pages; AssumeRole first for a role)."""
    client, ctx = _kinesis(creds)
    names: list[str] = []
    arns: dict[str, str] = {}
    params: dict[str, Any] = {"Limit": 100}
    for _ in range(_MAX_STREAM_PAGES):
        page = _call(client, "ListStreams", ctx=ctx, **params)
        batch = list(page.get("StreamNames", []))
        names += batch
        for summary in page.get("StreamSummaries") or []:
            if summary.get("StreamName") and summary.get("StreamARN"):
                arns[summary["StreamName"]] = summary["StreamARN"]
        if not page.get("HasMoreStreams") or not batch:
            break
        # ExclusiveStartStreamName works on AWS and on local endpoints alike.
        params = {"Limit": 100, "ExclusiveStartStreamName": batch[-1]}
    return StreamListing(names=names, arns=arns)


def list_streams(creds: AwsCredentials) -> list[str]:
    """Every stream name in the account and region."""
    return list_stream_listing(creds).names


def describe_stream_summary(creds: AwsCredentials, stream_name: str) -> StreamSummary:
    """Status, capacity mode, shard count and encryption of one stream."""
    client, ctx = _kinesis(creds, stream_name)
    info = _call(client, "DescribeStreamSummary", ctx=ctx, StreamName=stream_name)[
        "StreamDescriptionSummary"
    ]
    return StreamSummary(
        name=info["StreamName"],
        arn=info["StreamARN"],
        status=info["StreamStatus"],
        mode=(info.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"),
        shard_count=int(info.get("OpenShardCount", 0)),
        encryption=info.get("EncryptionType") or "NONE",
        key_id=info.get("KeyId") or "",
        max_record_kib=int(info.get("MaxRecordSizeInKiB") or DEFAULT_MAX_RECORD_KIB),
    )


@dataclass(frozen=True)
class CallerIdentity:
    """Who the credentials are, as far as STS says; `problem` says why it could not."""

    account_id: str = ""
    arn: str = ""
    problem: str = ""


def caller(creds: AwsCredentials) -> CallerIdentity:
    """STS GetCallerIdentity, never raising: nothing depends on STS being reachable.

    A Kinesis-only endpoint (a VPC endpoint for Kinesis alone, another Kinesis
    implementation) has no STS; the account id then comes from a stream ARN.
    """
    try:
        client, ctx = _client("sts", creds)
        answer = _call(client, "GetCallerIdentity", ctx=ctx)
    except KinesisError as exc:
        logger.info("STS GetCallerIdentity unavailable: %s", exc.code)
        if type(exc) is KinesisError:  # an answer no AWS service gives: not an STS endpoint
            label = _endpoint_label(
                _Context(service="sts", region=creds.region, endpoint=_endpoint("sts") or "")
            )
            return CallerIdentity(problem=f"{label} does not answer as AWS STS does ({exc.code})")
        return CallerIdentity(problem=exc.message)
    return CallerIdentity(account_id=str(answer.get("Account", "")), arn=str(answer.get("Arn", "")))


def caller_identity(creds: AwsCredentials) -> str | None:
    """The AWS account id behind the credentials, or None when STS will not say."""
    return caller(creds).account_id or None


def caller_arn(creds: AwsCredentials) -> str | None:
    """The IAM principal ARN behind the credentials (role ARN for a role), or None."""
    if creds.uses_role:
        return creds.role_arn
    return caller(creds).arn or None


def account_id_of_arn(arn: str) -> str:
    """The account id field of an ARN (arn:partition:service:region:account:...)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else ""


@dataclass(frozen=True)
class AccountLookup:
    """The account id and where it came from; `note` names a check that could not run."""

    account_id: str
    source: str  # "sts" | "stream_arn" | ""
    note: str = ""


def account_lookup(creds: AwsCredentials, stream_arns: Iterable[str] = ()) -> AccountLookup:
    """The account id from STS, else from a stream's ARN (ListStreams/DescribeStreamSummary)."""
    identity = caller(creds)
    if identity.account_id:
        return AccountLookup(identity.account_id, "sts")
    from_arn = next((a for a in map(account_id_of_arn, stream_arns) if a), "")
    skipped = f"STS GetCallerIdentity could not run ({identity.problem})"
    if from_arn:
        return AccountLookup(
            from_arn, "stream_arn", f"{skipped}: the account id comes from the stream's ARN."
        )
    return AccountLookup("", "", f"{skipped}, and no stream ARN tells the account id.")


def put_record(
    creds: AwsCredentials, stream_name: str, data: bytes, partition_key: str
) -> PutResult:
    """Write one record; returns where it landed."""
    client, ctx = _kinesis(creds, stream_name)
    response = _call(
        client, "PutRecord", ctx=ctx, StreamName=stream_name, Data=data, PartitionKey=partition_key
    )
    return PutResult(shard_id=response["ShardId"], sequence_number=response["SequenceNumber"])


def put_records(
    creds: AwsCredentials, stream_name: str, entries: list[tuple[bytes, str]]
) -> list[EntryResult]:
    """Write up to 500 records; per-record failures come back in entry order, not raised."""
    if not entries:
        return []
    client, ctx = _kinesis(creds, stream_name)
    response = _call(
        client,
        "PutRecords",
        ctx=ctx,
        StreamName=stream_name,
        Records=[{"Data": data, "PartitionKey": key} for data, key in entries],
    )
    results = [
        EntryResult(
            shard_id=r.get("ShardId"),
            sequence_number=r.get("SequenceNumber"),
            error_code=r.get("ErrorCode"),
            error_message=r.get("ErrorMessage"),
        )
        for r in response.get("Records", [])
    ]
    if len(results) != len(entries):
        raise TransientError(
            f"Kinesis answered PutRecords with {len(results)} results for {len(entries)} "
            "records; the call will be retried.",
            code="MalformedResponse",
            may_have_succeeded=True,
        )
    return results


_MAX_GET_RECORDS_CALLS_PER_SHARD = 20


def list_shard_ids(creds: AwsCredentials, stream_name: str) -> list[str]:
    """Every shard of a stream, open and closed (all pages)."""
    client, ctx = _kinesis(creds, stream_name)
    try:
        page = _call(client, "ListShards", ctx=ctx, StreamName=stream_name)
        shard_ids = [s["ShardId"] for s in page.get("Shards", [])]
        while page.get("NextToken"):
            page = _call(client, "ListShards", ctx=ctx, NextToken=page["NextToken"])
            shard_ids += [s["ShardId"] for s in page.get("Shards", [])]
    except AccessDenied as exc:
        raise _inspector_denied(exc, ctx) from exc
    return shard_ids


def read_recent_records(
    creds: AwsCredentials,
    stream_name: str,
    limit: int,
    *,
    since: dt.datetime | None = None,
) -> list[StreamRecord]:
    """The newest `limit` records (arrived after `since`, default 24 h ago), newest first."""
    since = since or dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
    client, ctx = _kinesis(creds, stream_name)
    newest: list[StreamRecord] = []
    try:
        for shard_id in list_shard_ids(creds, stream_name):
            newest += _read_shard_tail(client, ctx, stream_name, shard_id, limit, since)
    except AccessDenied as exc:
        raise _inspector_denied(exc, ctx) from exc
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    newest.sort(key=lambda r: (r.arrived_at or epoch, _seq(r.sequence_number)), reverse=True)
    return newest[:limit]


def _seq(sequence_number: str) -> int:
    return int(sequence_number) if sequence_number.isdigit() else 0


def _read_shard_tail(
    client: Any, ctx: _Context, stream_name: str, shard_id: str, limit: int, since: dt.datetime
) -> list[StreamRecord]:
    iterator = _call(
        client,
        "GetShardIterator",
        ctx=ctx,
        StreamName=stream_name,
        ShardId=shard_id,
        ShardIteratorType="AT_TIMESTAMP",
        Timestamp=since,
    ).get("ShardIterator")
    tail: deque[StreamRecord] = deque(maxlen=max(limit, 1))
    for _ in range(_MAX_GET_RECORDS_CALLS_PER_SHARD):
        if not iterator:
            break
        page = _call(client, "GetRecords", ctx=ctx, ShardIterator=iterator, Limit=1000)
        for record in page.get("Records", []):
            tail.append(
                StreamRecord(
                    shard_id=shard_id,
                    sequence_number=record["SequenceNumber"],
                    partition_key=record["PartitionKey"],
                    data=bytes(record["Data"]),
                    arrived_at=record.get("ApproximateArrivalTimestamp"),
                )
            )
        iterator = page.get("NextShardIterator")
        if not page.get("Records") and not page.get("MillisBehindLatest"):
            break
    return list(tail)


def _inspector_denied(exc: AccessDenied, ctx: _Context) -> AccessDenied:
    return AccessDenied(
        f"{exc.message} Reading the stream needs kinesis:ListShards, "
        "kinesis:GetShardIterator and kinesis:GetRecords (read access is only needed for "
        "the stream inspector, not for exports).",
        action=exc.action,
        code=exc.code,
    )


def simulate_permissions(
    creds: AwsCredentials, actions: list[str], resource_arn: str
) -> dict[str, bool] | None:
    """Ask IAM whether the principal may call `actions` on the resource; None if IAM won't say."""
    principal = caller_arn(creds)
    if not principal:
        return None
    principal = _policy_source_arn(principal)
    client, ctx = _client("iam", creds)
    decisions: dict[str, bool] = {}
    params: dict[str, Any] = {
        "PolicySourceArn": principal,
        "ActionNames": list(actions),
        "ResourceArns": [resource_arn],
    }
    try:
        while True:
            page = _call(client, "SimulatePrincipalPolicy", ctx=ctx, **params)
            for result in page.get("EvaluationResults", []):
                decisions[result["EvalActionName"]] = result.get("EvalDecision") == "allowed"
            if not page.get("IsTruncated"):
                break
            params["Marker"] = page["Marker"]
    except (KinesisError, NotImplementedError) as exc:
        # Most keys may not call iam:SimulatePrincipalPolicy (and local endpoints do not
        # implement it); the permission check then says "verified at the first export".
        logger.info("permission simulation unavailable: %s", getattr(exc, "code", "unsupported"))
        return None
    if not all(action in decisions for action in actions):
        return None
    return decisions


def _policy_source_arn(arn: str) -> str:
    """IAM simulates users and roles, not STS sessions: map an assumed-role ARN to its role."""
    match = re.match(r"^arn:([\w-]+):sts::(\d+):assumed-role/([^/]+)/", arn)
    if match:
        partition, account, role = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    return arn


def platform_principal() -> str | None:
    """The account root ARN of this server's own AWS credentials (roles must trust it)."""
    pid = os.getpid()
    if pid in _platform_principal:
        return _platform_principal[pid]
    try:
        key, secret, token = _platform_keys()
        sts = _raw_client("sts", "us-east-1", key, secret, token)
        ctx = _Context(service="sts", region="us-east-1", endpoint=_endpoint("sts") or "")
        account = str(_call(sts, "GetCallerIdentity", ctx=ctx)["Account"])
        principal: str | None = f"arn:aws:iam::{account}:root"
    except KinesisError as exc:
        logger.info("this server's AWS identity is unknown: %s", exc.code)
        principal = None
    _platform_principal[pid] = principal
    return principal


def verify(creds: AwsCredentials) -> StreamListing:
    """The live check of step 1: AssumeRole (for a role), then ListStreams."""
    return list_stream_listing(creds)
