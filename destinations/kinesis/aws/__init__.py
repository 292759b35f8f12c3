"""The one seam to AWS (Kinesis, STS, IAM): nothing outside this package imports boto3/botocore.

Callers use the names exported here (``from destinations.kinesis import aws``):
the calls (`operations`) return plain dataclasses (`results`) and raise only
`KinesisError`s (`errors`, which also maps botocore's failures). `clients`
caches botocore clients per process and assumes IAM roles; `regions` knows
where Kinesis exists and builds ARNs; `credentials` holds what a connection
signs with.

Tests inject faults through botocore's own event system on the clients this
package creates (`tests/support/aws_calls.py`), never through product code.
"""

from destinations.kinesis.aws.clients import clear_client_cache
from destinations.kinesis.aws.credentials import AwsCredentials, credentials_for, mask_key_id
from destinations.kinesis.aws.errors import (
    AccessDenied,
    BadCredentials,
    EndpointUnreachable,
    InvalidRegion,
    InvalidRequest,
    KinesisError,
    KmsError,
    StreamNotFound,
    Throttled,
    TransientError,
    entry_error_retryable,
)
from destinations.kinesis.aws.operations import (
    account_lookup,
    caller,
    caller_arn,
    caller_identity,
    create_stream_unless_present,
    describe_stream_summary,
    list_shard_ids,
    list_stream_listing,
    list_streams,
    platform_principal,
    put_record,
    put_records,
    read_recent_records,
    read_record_at,
    simulate_permissions,
    verify,
)
from destinations.kinesis.aws.regions import (
    account_id_of_arn,
    check_region,
    kinesis_region_choices,
    kinesis_regions,
    partition_of,
    stream_arn,
)
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

__all__ = [
    "DEFAULT_MAX_RECORD_KIB",
    "AccessDenied",
    "AccountLookup",
    "AwsCredentials",
    "BadCredentials",
    "CallerIdentity",
    "EndpointUnreachable",
    "EntryResult",
    "InvalidRegion",
    "InvalidRequest",
    "KinesisError",
    "KmsError",
    "PutResult",
    "StreamListing",
    "StreamNotFound",
    "StreamRecord",
    "StreamSummary",
    "Throttled",
    "TransientError",
    "account_id_of_arn",
    "account_lookup",
    "caller",
    "caller_arn",
    "caller_identity",
    "check_region",
    "clear_client_cache",
    "create_stream_unless_present",
    "credentials_for",
    "describe_stream_summary",
    "entry_error_retryable",
    "kinesis_region_choices",
    "kinesis_regions",
    "list_shard_ids",
    "list_stream_listing",
    "list_streams",
    "mask_key_id",
    "partition_of",
    "platform_principal",
    "put_record",
    "put_records",
    "read_recent_records",
    "read_record_at",
    "simulate_permissions",
    "stream_arn",
    "verify",
]
