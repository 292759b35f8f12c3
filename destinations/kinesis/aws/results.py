"""What the AWS calls answer, as plain frozen dataclasses (never botocore's dicts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from destinations.kinesis.aws.regions import account_id_of_arn

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


@dataclass(frozen=True)
class StreamListing:
    """ListStreams' answer: the names, and each stream's ARN where the endpoint gives it."""

    names: list[str]
    arns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallerIdentity:
    """Who the credentials are, as far as STS says; `problem` says why it could not."""

    account_id: str = ""
    arn: str = ""
    problem: str = ""


@dataclass(frozen=True)
class AccountLookup:
    """The account id and where it came from; `note` names a check that could not run."""

    account_id: str
    source: str  # "sts" | "stream_arn" | ""
    note: str = ""
