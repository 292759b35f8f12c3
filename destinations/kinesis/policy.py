"""The IAM policy helper: the minimal policy from the reference, filled in.

The reference grants kinesis:ListStreams, kinesis:PutRecord and
kinesis:PutRecords. ListStreams is an account-level action (it cannot be
limited to one stream), so it gets its own statement on "*" and the write
actions are limited to the one stream. A KMS-encrypted stream with a customer
managed key also needs kms:GenerateDataKey on that key.
"""

import json
from typing import Any

from destinations.kinesis.aws import partition_of, stream_arn

AWS_MANAGED_KINESIS_KEY = "alias/aws/kinesis"
WRITE_ACTIONS = ("kinesis:PutRecord", "kinesis:PutRecords")
# Optional: lets the permission check and the health monitor read the stream's status.
DESCRIBE_ACTION = "kinesis:DescribeStreamSummary"


def kms_key_arn(*, region: str, account_id: str, key_id: str) -> str | None:
    """The ARN to grant kms:GenerateDataKey on, or None when no grant is needed."""
    if not key_id or key_id == AWS_MANAGED_KINESIS_KEY:
        return None
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    if key_id.startswith("arn:") or key_id.startswith("alias/"):
        # An alias cannot be granted on; the key behind it can.
        return f"arn:{partition_of(region)}:kms:{region}:{account_id or '*'}:key/*"
    return f"arn:{partition_of(region)}:kms:{region}:{account_id or '*'}:key/{key_id}"


def minimal_policy(
    *,
    region: str,
    account_id: str,
    stream_name: str,
    kms_key_id: str = "",
    include_describe: bool = True,
) -> dict[str, Any]:
    """The least-privilege identity policy for exporting to one stream."""
    arn = stream_arn(region=region, account_id=account_id, stream_name=stream_name or "*")
    write_actions = [*WRITE_ACTIONS, DESCRIBE_ACTION] if include_describe else list(WRITE_ACTIONS)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListStreams",
            "Effect": "Allow",
            "Action": ["kinesis:ListStreams"],
            "Resource": "*",
        },
        {
            "Sid": "WriteToTheStream",
            "Effect": "Allow",
            "Action": write_actions,
            "Resource": [arn],
        },
    ]
    key_arn = kms_key_arn(region=region, account_id=account_id, key_id=kms_key_id)
    if key_arn:
        statements.append(
            {
                "Sid": "EncryptWithTheStreamKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey"],
                "Resource": [key_arn],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def trust_policy(*, platform_principal: str, external_id: str) -> dict[str, Any]:
    """The trust policy a customer's role needs so this platform can assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": platform_principal or "arn:aws:iam::<PLATFORM_ACCOUNT>:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def as_json(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2)
