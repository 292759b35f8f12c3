"""The permission check: what a connection can do, item by item, with the fix.

Each item passes, fails, warns, is informational, or cannot be verified
without writing (then it is verified at the first export or by "Send a test
record"). The report is stored on the connection as JSON, its words in English
from `StoredText` templates; `CheckReport.translated()` renders them for a page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy

from core.stored_text import StoredText, translate
from destinations.kinesis import aws as kinesis
from destinations.kinesis.policy import (
    AWS_MANAGED_KINESIS_KEY,
    WRITE_ACTIONS,
    kms_key_arn,
)

PASS, FAIL, WARN, UNVERIFIED, INFO = "pass", "fail", "warn", "unverified", "info"
STATUS_LABELS = {
    PASS: gettext_lazy("Pass"),
    FAIL: gettext_lazy("Fail"),
    WARN: gettext_lazy("Warning"),
    UNVERIFIED: gettext_lazy("Not verified yet"),
    INFO: gettext_lazy("Info"),
}
LATER = StoredText("Verified at the first export, or now with “Send a test record”.")()
STREAMS_VISIBLE = StoredText.ngettext("%(count)s stream visible.", "%(count)s streams visible.")
ACCOUNT_FROM_ARN = StoredText("the account id comes from the stream's ARN")
ACCOUNT_UNKNOWN = StoredText("the account id is unknown")
STS_LABEL = StoredText("sts:GetCallerIdentity (optional)")
COULD_NOT_RUN = StoredText("Could not run (%(problem)s): %(source)s.")
STREAM_EXISTS = StoredText("Stream “%(stream)s” exists")
CAPACITY = StoredText("Capacity")
UNCHECKABLE_STREAM = StoredText(
    "Neither ListStreams nor DescribeStreamSummary is allowed, so this cannot be checked. %(later)s"
)
ALLOW_LIST_STREAMS = StoredText("Allow “kinesis:ListStreams” (see the minimal policy below).")
FOUND_BY_LIST = StoredText("Found by ListStreams.")
NOT_LISTED = StoredText("ListStreams does not return “%(stream)s” in %(region)s.")
CHECK_NAME = StoredText("Check the stream name and the region, or create the stream.")
DESCRIBE_LABEL = StoredText("kinesis:DescribeStreamSummary (optional)")
DESCRIBE_DENIED = StoredText(
    "Not allowed, so the stream's status, mode, shard count and encryption cannot be checked."
)
DESCRIBE_FIX = StoredText(
    "Optional: add “kinesis:DescribeStreamSummary” on the stream to the policy, so "
    "problems such as a deleted stream are reported before an export fails."
)
ACTIVE_LABEL = StoredText("Stream is ACTIVE")
READY = StoredText("Ready to receive records.")
STATUS_IS = StoredText("The stream is %(status)s.")
WAIT_ACTIVE = StoredText(
    "Wait a minute and run the check again; exports wait for the stream meanwhile."
)
BEING_DELETED = StoredText("The stream is being deleted: choose or create another stream.")
ON_DEMAND = StoredText(
    "On-demand, %(shards)s open shard(s): starts at 4,000 records/s and 4 MiB/s of writes "
    "and scales with traffic."
)
PROVISIONED = StoredText(
    "Provisioned, %(shards)s open shard(s): up to %(records)s records/s and %(mib)s MiB/s "
    "of writes."
)
ENCRYPTION = StoredText("Encryption")
ENCRYPTION_KMS = StoredText("Encryption (KMS)")
NOT_ENCRYPTED = StoredText("Not encrypted with KMS: nothing extra needed.")
AWS_MANAGED_KEY = StoredText(
    "Encrypted with the AWS managed key alias/aws/kinesis: no extra permission needed."
)
KMS_LABEL = StoredText("kms:GenerateDataKey on the stream's key")
KMS_FIX = StoredText(
    "Allow “kms:GenerateDataKey” on %(key)s in the IAM policy (and in the key policy "
    "if it does not delegate to IAM)."
)
ENCRYPTED_WITH = StoredText("The stream is encrypted with %(key)s. %(later)s")
ALLOWED_ON = StoredText("Allowed on %(resource)s.")
NOT_ALLOWED_ON = StoredText("Not allowed on %(resource)s.")
NO_SIMULATION = StoredText(
    "iam:SimulatePrincipalPolicy is not available to these credentials, so this "
    "cannot be checked without writing. %(later)s"
)
MAKE_SURE = StoredText("Make sure the policy allows “%(action)s” on %(resource)s.")
SIMULATED = StoredText("Allowed on %(resource)s (IAM policy simulation).")
POLICY_DENIES = StoredText("The IAM policy does not allow %(action)s on %(resource)s.")
ADD_ON = StoredText(
    "Add “%(action)s” on %(resource)s to the policy (see the minimal policy below)."
)
VERIFIED = StoredText("Verified: a test record was written with it.")
ADD_ACTION = StoredText("Add “%(action)s” to the IAM policy (see the minimal policy below).")
FIX_CREDENTIALS = StoredText("Edit the connection and enter a working access key (or role).")
FIX_STREAM = StoredText(
    "Create the stream in the Kinesis console, or connect a new destination "
    "with the right stream and region (a destination's stream cannot be changed)."
)
RETRY_SOON = StoredText("Run the check again in a moment.")


@dataclass
class CheckItem:
    key: str
    label: str
    status: str
    detail: str = ""
    fix: str = ""

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    def translated(self) -> CheckItem:
        return CheckItem(
            key=self.key,
            label=translate(self.label),
            status=self.status,
            detail=translate(self.detail),
            fix=translate(self.fix),
        )


@dataclass
class CheckReport:
    items: list[CheckItem] = field(default_factory=list)
    account_id: str = ""
    stream: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not any(item.status == FAIL for item in self.items)

    @property
    def first_failure(self) -> CheckItem | None:
        return next((item for item in self.items if item.status == FAIL), None)

    def add(self, key: str, label: str, status: str, detail: str = "", fix: str = "") -> None:
        self.items.append(CheckItem(key=key, label=label, status=status, detail=detail, fix=fix))

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": [asdict(item) for item in self.items],
            "account_id": self.account_id,
            "stream": self.stream,
        }

    def translated(self) -> CheckReport:
        """A copy in the active language, for a page (never stored)."""
        return CheckReport(
            items=[item.translated() for item in self.items],
            account_id=self.account_id,
            stream=self.stream,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CheckReport | None:
        if not data or "items" not in data:
            return None
        return cls(
            items=[CheckItem(**item) for item in data["items"]],
            account_id=data.get("account_id", ""),
            stream=data.get("stream"),
        )


def run_permission_check(creds: kinesis.AwsCredentials, stream_name: str) -> CheckReport:
    """Check the credentials against the stream, as far as AWS lets us without writing."""
    report = CheckReport()
    try:
        names = kinesis.list_streams(creds)
    except kinesis.KinesisError as exc:
        report.add("list_streams", "kinesis:ListStreams", FAIL, exc.message, _fix_for(exc))
        if isinstance(exc, kinesis.BadCredentials | kinesis.EndpointUnreachable):
            return report  # nothing else can work
        names = None
    else:
        report.add(
            "list_streams",
            "kinesis:ListStreams",
            PASS,
            STREAMS_VISIBLE(count=len(names)),
        )
    identity = kinesis.caller(creds)
    report.account_id = identity.account_id
    summary = _check_stream(report, creds, stream_name, names)
    if identity.problem:
        # Nothing depends on STS (a Kinesis-only endpoint has none): say what it could not do.
        source = ACCOUNT_FROM_ARN() if report.account_id else ACCOUNT_UNKNOWN()
        report.add(
            "sts",
            STS_LABEL(),
            INFO,
            COULD_NOT_RUN(problem=identity.problem, source=source),
        )
    _check_writes(report, creds, stream_name, summary)
    return report


def _check_stream(
    report: CheckReport,
    creds: kinesis.AwsCredentials,
    stream_name: str,
    names: list[str] | None,
) -> kinesis.StreamSummary | None:
    try:
        summary = kinesis.describe_stream_summary(creds, stream_name)
    except kinesis.StreamNotFound as exc:
        report.add(
            "stream_exists", STREAM_EXISTS(stream=stream_name), FAIL, exc.message, _fix_for(exc)
        )
        return None
    except kinesis.AccessDenied:
        _stream_seen_in_list(report, creds, stream_name, names)
        return None
    except kinesis.KinesisError as exc:
        report.add(
            "stream_exists", STREAM_EXISTS(stream=stream_name), FAIL, exc.message, _fix_for(exc)
        )
        return None
    report.stream = {
        "name": summary.name,
        "arn": summary.arn,
        "status": summary.status,
        "mode": summary.mode,
        "shard_count": summary.shard_count,
        "encryption": summary.encryption,
        "key_id": summary.key_id,
    }
    report.account_id = report.account_id or summary.account_id
    report.add("stream_exists", STREAM_EXISTS(stream=stream_name), PASS, summary.arn)
    _check_status(report, summary)
    report.add("capacity", CAPACITY(), INFO, _capacity_text(summary))
    _check_encryption(report, creds, summary)
    return summary


def _stream_seen_in_list(
    report: CheckReport, creds: kinesis.AwsCredentials, stream_name: str, names: list[str] | None
) -> None:
    label = STREAM_EXISTS(stream=stream_name)
    if names is None:
        report.add(
            "stream_exists",
            label,
            UNVERIFIED,
            UNCHECKABLE_STREAM(later=LATER),
            ALLOW_LIST_STREAMS(),
        )
    elif stream_name in names:
        report.add("stream_exists", label, PASS, FOUND_BY_LIST())
    else:
        report.add(
            "stream_exists",
            label,
            FAIL,
            NOT_LISTED(stream=stream_name, region=creds.region),
            CHECK_NAME(),
        )
    report.add(
        "describe",
        DESCRIBE_LABEL(),
        WARN,
        DESCRIBE_DENIED(),
        DESCRIBE_FIX(),
    )


def _check_status(report: CheckReport, summary: kinesis.StreamSummary) -> None:
    if summary.status == "ACTIVE":
        report.add("active", ACTIVE_LABEL(), PASS, READY())
    elif summary.status in ("CREATING", "UPDATING"):
        report.add(
            "active",
            ACTIVE_LABEL(),
            WARN,
            STATUS_IS(status=summary.status),
            WAIT_ACTIVE(),
        )
    else:
        report.add(
            "active",
            ACTIVE_LABEL(),
            FAIL,
            STATUS_IS(status=summary.status),
            BEING_DELETED(),
        )


def _capacity_text(summary: kinesis.StreamSummary) -> str:
    if summary.mode == "ON_DEMAND":
        return ON_DEMAND(shards=summary.shard_count)
    return PROVISIONED(
        shards=summary.shard_count,
        records=summary.shard_count * 1000,
        mib=summary.shard_count,
    )


def _check_encryption(
    report: CheckReport, creds: kinesis.AwsCredentials, summary: kinesis.StreamSummary
) -> None:
    if summary.encryption != "KMS":
        report.add("encryption", ENCRYPTION(), INFO, NOT_ENCRYPTED())
        return
    if summary.key_id == AWS_MANAGED_KINESIS_KEY:
        report.add(
            "encryption",
            ENCRYPTION_KMS(),
            PASS,
            AWS_MANAGED_KEY(),
        )
        return
    key_arn = kms_key_arn(region=creds.region, account_id=report.account_id, key_id=summary.key_id)
    decisions = kinesis.simulate_permissions(creds, ["kms:GenerateDataKey"], key_arn or "*")
    label = KMS_LABEL()
    fix = KMS_FIX(key=key_arn)
    if decisions is None:
        report.add("kms", label, UNVERIFIED, ENCRYPTED_WITH(key=summary.key_id, later=LATER), fix)
    elif decisions.get("kms:GenerateDataKey"):
        report.add("kms", label, PASS, ALLOWED_ON(resource=summary.key_id))
    else:
        report.add("kms", label, FAIL, NOT_ALLOWED_ON(resource=summary.key_id), fix)


def _check_writes(
    report: CheckReport,
    creds: kinesis.AwsCredentials,
    stream_name: str,
    summary: kinesis.StreamSummary | None,
) -> None:
    arn = (
        summary.arn
        if summary
        else kinesis.stream_arn(
            region=creds.region, account_id=report.account_id, stream_name=stream_name
        )
    )
    decisions = None
    if report.account_id:
        decisions = kinesis.simulate_permissions(creds, list(WRITE_ACTIONS), arn)
    for action in WRITE_ACTIONS:
        if decisions is None:
            report.add(
                action,
                action,
                UNVERIFIED,
                NO_SIMULATION(later=LATER),
                MAKE_SURE(action=action, resource=arn),
            )
        elif decisions.get(action):
            report.add(action, action, PASS, SIMULATED(resource=arn))
        else:
            report.add(
                action,
                action,
                FAIL,
                POLICY_DENIES(action=action, resource=arn),
                ADD_ON(action=action, resource=arn),
            )


def record_test_write(report: CheckReport, actions: list[str]) -> None:
    """Test records written with `actions` prove them: mark those items verified."""
    for item in report.items:
        if item.key in actions and item.status == UNVERIFIED:
            item.status = PASS
            item.detail = VERIFIED()
            item.fix = ""


def _fix_for(exc: kinesis.KinesisError) -> str:
    if isinstance(exc, kinesis.AccessDenied):
        return ADD_ACTION(action=exc.action)
    if isinstance(exc, kinesis.BadCredentials):
        return FIX_CREDENTIALS()
    if isinstance(exc, kinesis.StreamNotFound):
        # A connection's stream and region are fixed, so "check the name" alone is a dead end.
        return FIX_STREAM()
    if isinstance(exc, kinesis.EndpointUnreachable | kinesis.TransientError | kinesis.Throttled):
        return RETRY_SOON()
    return ""
