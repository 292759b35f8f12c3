"""The calls the product makes to AWS (Kinesis, STS, IAM), answering with `results`.

Every call goes through `_call`, which maps any failure to a `KinesisError`
(see `errors`); clients come from `clients.client_for`. Nothing outside this
package imports boto3 or botocore.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from destinations.kinesis.aws import clients
from destinations.kinesis.aws.credentials import AwsCredentials
from destinations.kinesis.aws.errors import (
    NOT_STS,
    STS_SKIPPED_ARN,
    STS_SKIPPED_NO_ARN,
    AccessDenied,
    BadCredentials,
    CallContext,
    KinesisError,
    TransientError,
    aws_errors,
    endpoint_label,
)
from destinations.kinesis.aws.regions import account_id_of_arn, check_region
from destinations.kinesis.aws.results import (
    DEFAULT_MAX_RECORD_KIB,
    AccountLookup,
    CallerIdentity,
    EntryResult,
    PutResult,
    StreamListing,
    StreamRecord,
    StreamSummary,
)

logger = logging.getLogger(__name__)


def _call(client: Any, operation: str, *, ctx: CallContext, **params: Any) -> dict[str, Any]:
    """Make one AWS call, mapping every failure to a KinesisError."""
    from botocore import xform_name

    try:
        with aws_errors(operation, ctx):
            response: dict[str, Any] = getattr(client, xform_name(operation))(**params)
            return response
    except BadCredentials as exc:
        if exc.kind == "expired" and ctx.role_arn:
            clients.forget_role_sessions()
        raise


def _client(service: str, creds: AwsCredentials, stream: str = "") -> tuple[Any, CallContext]:
    """A cached client for the credentials (assuming the role first) and its error context."""
    check_region(creds.region)
    ctx = clients.context_for(service, creds, stream)
    return clients.client_for(service, creds), ctx


def _kinesis(creds: AwsCredentials, stream_name: str = "") -> tuple[Any, CallContext]:
    return _client("kinesis", creds, stream_name)


_MAX_STREAM_PAGES = 200


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
            label = endpoint_label(
                CallContext(
                    service="sts", region=creds.region, endpoint=clients.endpoint_url("sts") or ""
                )
            )
            return CallerIdentity(problem=NOT_STS(endpoint=label, code=exc.code))
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


def account_lookup(creds: AwsCredentials, stream_arns: Iterable[str] = ()) -> AccountLookup:
    """The account id from STS, else from a stream's ARN (ListStreams/DescribeStreamSummary)."""
    identity = caller(creds)
    if identity.account_id:
        return AccountLookup(identity.account_id, "sts")
    from_arn = next((a for a in map(account_id_of_arn, stream_arns) if a), "")
    if from_arn:
        return AccountLookup(from_arn, "stream_arn", STS_SKIPPED_ARN(problem=identity.problem))
    return AccountLookup("", "", STS_SKIPPED_NO_ARN(problem=identity.problem))


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


def read_record_at(
    creds: AwsCredentials, stream_name: str, shard_id: str, sequence_number: str
) -> StreamRecord | None:
    """The record stored under (shard, sequence number), read back from the stream
    (GetShardIterator AT_SEQUENCE_NUMBER, one GetRecords); None once retention dropped it."""
    client, ctx = _kinesis(creds, stream_name)
    try:
        iterator = _shard_iterator(
            client,
            ctx,
            stream_name,
            shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=sequence_number,
        )
        page = (
            _call(client, "GetRecords", ctx=ctx, ShardIterator=iterator, Limit=1)
            if iterator
            else {}
        )
    except AccessDenied as exc:
        raise _inspector_denied(exc, ctx) from exc
    for record in page.get("Records", []):
        if record["SequenceNumber"] == sequence_number:
            return StreamRecord(
                shard_id=shard_id,
                sequence_number=sequence_number,
                partition_key=record["PartitionKey"],
                data=bytes(record["Data"]),
                arrived_at=record.get("ApproximateArrivalTimestamp"),
            )
    return None


def _shard_iterator(
    client: Any, ctx: CallContext, stream_name: str, shard_id: str, **position: Any
) -> str | None:
    answer = _call(
        client, "GetShardIterator", ctx=ctx, StreamName=stream_name, ShardId=shard_id, **position
    )
    return answer.get("ShardIterator")


def _seq(sequence_number: str) -> int:
    return int(sequence_number) if sequence_number.isdigit() else 0


def _read_shard_tail(
    client: Any, ctx: CallContext, stream_name: str, shard_id: str, limit: int, since: dt.datetime
) -> list[StreamRecord]:
    iterator = _shard_iterator(
        client, ctx, stream_name, shard_id, ShardIteratorType="AT_TIMESTAMP", Timestamp=since
    )
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


def _inspector_denied(exc: AccessDenied, ctx: CallContext) -> AccessDenied:
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


@clients.cleared_with_clients
@functools.lru_cache(maxsize=1)
def platform_principal() -> str | None:
    """The account root ARN of this server's own AWS credentials (roles must trust it)."""
    ctx = CallContext(service="sts", region="us-east-1", endpoint=clients.endpoint_url("sts") or "")
    try:
        with aws_errors("GetCallerIdentity", ctx):
            sts = clients.platform_sts_client()
        account = str(_call(sts, "GetCallerIdentity", ctx=ctx)["Account"])
    except KinesisError as exc:
        logger.info("this server's AWS identity is unknown: %s", exc.code)
        return None
    return f"arn:aws:iam::{account}:root"


def verify(creds: AwsCredentials) -> StreamListing:
    """The live check of step 1: AssumeRole (for a role), then ListStreams."""
    return list_stream_listing(creds)


def create_stream_unless_present(creds: AwsCredentials, stream_name: str, shards: int) -> bool:
    """Create the stream unless it exists (the local demo stream of `make run`); True if new."""
    if stream_name in list_streams(creds):
        return False
    client, ctx = _kinesis(creds, stream_name)
    _call(client, "CreateStream", ctx=ctx, StreamName=stream_name, ShardCount=shards)
    return True
