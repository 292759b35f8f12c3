"""The stream inspector: the newest records of a connection's stream, pretty-printed.

Reading needs permissions exports do not (ListShards, GetShardIterator,
GetRecords); when they are missing the marketer sees which one and the policy
statement to add, filled in with the stream's ARN.
"""

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from destinations.models import Connection

READ_ACTIONS = ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"]
LIMITS = [10, 25, 50, 100]
DEFAULT_LIMIT = 25


@dataclass(frozen=True)
class InspectedRecord:
    shard_id: str
    sequence_number: str
    partition_key: str
    arrived_at: Any
    size: int
    pretty: str
    is_json: bool


@dataclass
class Inspection:
    records: list[InspectedRecord] = field(default_factory=list)
    error: str = ""
    error_code: str = ""
    missing_action: str = ""
    policy: str = ""


def pretty_data(data: bytes) -> tuple[str, bool]:
    """Indented JSON when the record is JSON, else its text (or base64 when binary)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), False
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
    except ValueError:
        return text, False


def records_matching(records: list[InspectedRecord], text: str) -> list[InspectedRecord]:
    """Records whose partition key is text, or whose payload names it (a profile id or an
    identity value, e.g. "profileId": 42 or jane@example.com)."""
    profile_field = f'"profileId": {text}' if text.isdigit() else None
    return [
        r
        for r in records
        if r.partition_key == text
        or (profile_field is not None and profile_field in r.pretty)
        or (profile_field is None and text in r.pretty)
    ]


def read_policy(*, missing_action: str, arn: str) -> str:
    """The IAM statement that grants the inspector's reads on one stream."""
    actions = (
        READ_ACTIONS
        if missing_action in READ_ACTIONS or not missing_action
        else [
            missing_action,
            *READ_ACTIONS,
        ]
    )
    statement = {
        "Sid": "StreamInspectorRead",
        "Effect": "Allow",
        "Action": actions,
        "Resource": arn,
    }
    return json.dumps(statement, indent=2)


def stream_inspect(*, connection: Connection, limit: int) -> Inspection:
    """Read the newest `limit` records (GetShardIterator + GetRecords across all shards)."""
    from destinations.kinesis import aws

    creds = aws.credentials_for(connection)
    try:
        records = aws.read_recent_records(creds, connection.stream_name, limit)
    except aws.AccessDenied as denied:
        account = aws.caller_identity(creds) or ""
        arn = aws.stream_arn(
            region=connection.region, account_id=account, stream_name=connection.stream_name
        )
        return Inspection(
            error=str(denied),
            error_code=denied.code,
            missing_action=denied.action,
            policy=read_policy(missing_action=denied.action, arn=arn),
        )
    except aws.KinesisError as error:
        return Inspection(error=str(error), error_code=error.code)
    return Inspection(records=[inspected(record) for record in records])


def inspected(record: Any) -> InspectedRecord:
    """A record read from the stream (aws.StreamRecord), as the pages show it."""
    pretty, is_json = pretty_data(record.data)
    return InspectedRecord(
        shard_id=record.shard_id,
        sequence_number=record.sequence_number,
        partition_key=record.partition_key,
        arrived_at=record.arrived_at,
        size=len(record.data) + len(record.partition_key.encode()),
        pretty=pretty,
        is_json=is_json,
    )


@dataclass(frozen=True)
class DeliveredRecord:
    """A delivered record read back from its stream, or why it could not be."""

    record: InspectedRecord | None = None
    error: str = ""


def delivered_record(
    *, connection: Connection, shard_id: str, sequence_number: str
) -> DeliveredRecord:
    """The payload of one delivery, read back from the stream by its shard and sequence
    number (nothing is stored twice: the stream is the record of what was sent)."""
    from destinations.kinesis import aws

    creds = aws.credentials_for(connection)
    try:
        record = aws.read_record_at(creds, connection.stream_name, shard_id, sequence_number)
    except aws.KinesisError as error:
        return DeliveredRecord(error=f"The stream could not be read: {error}")
    if record is None:
        return DeliveredRecord(
            error="The record is no longer in the stream (older than its retention period)."
        )
    return DeliveredRecord(record=inspected(record))
