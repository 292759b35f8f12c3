"""The permission check: what a connection can do, item by item, with the fix.

Each item passes, fails, warns, is informational, or cannot be verified
without writing (then it is verified at the first export or by "Send a test
record"). The report is stored on the connection as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.template.defaultfilters import pluralize

from destinations.kinesis import aws as kinesis
from destinations.kinesis.policy import (
    AWS_MANAGED_KINESIS_KEY,
    WRITE_ACTIONS,
    kms_key_arn,
)

PASS, FAIL, WARN, UNVERIFIED, INFO = "pass", "fail", "warn", "unverified", "info"
STATUS_LABELS = {
    PASS: "Pass",
    FAIL: "Fail",
    WARN: "Warning",
    UNVERIFIED: "Not verified yet",
    INFO: "Info",
}
LATER = "Verified at the first export, or now with “Send a test record”."


@dataclass
class CheckItem:
    key: str
    label: str
    status: str
    detail: str = ""
    fix: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


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
            f"{len(names)} stream{pluralize(len(names))} visible.",
        )
    identity = kinesis.caller(creds)
    report.account_id = identity.account_id
    summary = _check_stream(report, creds, stream_name, names)
    if identity.problem:
        # Nothing depends on STS (a Kinesis-only endpoint has none): say what it could not do.
        source = (
            "the account id comes from the stream's ARN"
            if report.account_id
            else "the account id is unknown"
        )
        report.add(
            "sts",
            "sts:GetCallerIdentity (optional)",
            INFO,
            f"Could not run ({identity.problem}): {source}.",
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
            "stream_exists", f"Stream “{stream_name}” exists", FAIL, exc.message, _fix_for(exc)
        )
        return None
    except kinesis.AccessDenied:
        _stream_seen_in_list(report, creds, stream_name, names)
        return None
    except kinesis.KinesisError as exc:
        report.add(
            "stream_exists", f"Stream “{stream_name}” exists", FAIL, exc.message, _fix_for(exc)
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
    report.add("stream_exists", f"Stream “{stream_name}” exists", PASS, summary.arn)
    _check_status(report, summary)
    report.add("capacity", "Capacity", INFO, _capacity_text(summary))
    _check_encryption(report, creds, summary)
    return summary


def _stream_seen_in_list(
    report: CheckReport, creds: kinesis.AwsCredentials, stream_name: str, names: list[str] | None
) -> None:
    label = f"Stream “{stream_name}” exists"
    if names is None:
        report.add(
            "stream_exists",
            label,
            UNVERIFIED,
            "Neither ListStreams nor DescribeStreamSummary is allowed, so this cannot be "
            f"checked. {LATER}",
            "Allow “kinesis:ListStreams” (see the minimal policy below).",
        )
    elif stream_name in names:
        report.add("stream_exists", label, PASS, "Found by ListStreams.")
    else:
        report.add(
            "stream_exists",
            label,
            FAIL,
            f"ListStreams does not return “{stream_name}” in {creds.region}.",
            "Check the stream name and the region, or create the stream.",
        )
    report.add(
        "describe",
        "kinesis:DescribeStreamSummary (optional)",
        WARN,
        "Not allowed, so the stream's status, mode, shard count and encryption cannot be checked.",
        "Optional: add “kinesis:DescribeStreamSummary” on the stream to the policy, so "
        "problems such as a deleted stream are reported before an export fails.",
    )


def _check_status(report: CheckReport, summary: kinesis.StreamSummary) -> None:
    if summary.status == "ACTIVE":
        report.add("active", "Stream is ACTIVE", PASS, "Ready to receive records.")
    elif summary.status in ("CREATING", "UPDATING"):
        report.add(
            "active",
            "Stream is ACTIVE",
            WARN,
            f"The stream is {summary.status}.",
            "Wait a minute and run the check again; exports wait for the stream meanwhile.",
        )
    else:
        report.add(
            "active",
            "Stream is ACTIVE",
            FAIL,
            f"The stream is {summary.status}.",
            "The stream is being deleted: choose or create another stream.",
        )


def _capacity_text(summary: kinesis.StreamSummary) -> str:
    if summary.mode == "ON_DEMAND":
        return (
            f"On-demand, {summary.shard_count} open shard(s): starts at 4,000 records/s and "
            "4 MiB/s of writes and scales with traffic."
        )
    return (
        f"Provisioned, {summary.shard_count} open shard(s): up to "
        f"{summary.shard_count * 1000:,} records/s and {summary.shard_count} MiB/s of writes."
    )


def _check_encryption(
    report: CheckReport, creds: kinesis.AwsCredentials, summary: kinesis.StreamSummary
) -> None:
    if summary.encryption != "KMS":
        report.add(
            "encryption", "Encryption", INFO, "Not encrypted with KMS: nothing extra needed."
        )
        return
    if summary.key_id == AWS_MANAGED_KINESIS_KEY:
        report.add(
            "encryption",
            "Encryption (KMS)",
            PASS,
            "Encrypted with the AWS managed key alias/aws/kinesis: no extra permission needed.",
        )
        return
    key_arn = kms_key_arn(region=creds.region, account_id=report.account_id, key_id=summary.key_id)
    decisions = kinesis.simulate_permissions(creds, ["kms:GenerateDataKey"], key_arn or "*")
    label = "kms:GenerateDataKey on the stream's key"
    fix = (
        f"Allow “kms:GenerateDataKey” on {key_arn} in the IAM policy (and in the key policy "
        "if it does not delegate to IAM)."
    )
    if decisions is None:
        report.add(
            "kms", label, UNVERIFIED, f"The stream is encrypted with {summary.key_id}. {LATER}", fix
        )
    elif decisions.get("kms:GenerateDataKey"):
        report.add("kms", label, PASS, f"Allowed on {summary.key_id}.")
    else:
        report.add("kms", label, FAIL, f"Not allowed on {summary.key_id}.", fix)


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
                "iam:SimulatePrincipalPolicy is not available to these credentials, so this "
                f"cannot be checked without writing. {LATER}",
                f"Make sure the policy allows “{action}” on {arn}.",
            )
        elif decisions.get(action):
            report.add(action, action, PASS, f"Allowed on {arn} (IAM policy simulation).")
        else:
            report.add(
                action,
                action,
                FAIL,
                f"The IAM policy does not allow {action} on {arn}.",
                f"Add “{action}” on {arn} to the policy (see the minimal policy below).",
            )


def record_test_write(report: CheckReport, actions: list[str]) -> None:
    """Test records written with `actions` prove them: mark those items verified."""
    for item in report.items:
        if item.key in actions and item.status == UNVERIFIED:
            item.status = PASS
            item.detail = "Verified: a test record was written with it."
            item.fix = ""


def _fix_for(exc: kinesis.KinesisError) -> str:
    if isinstance(exc, kinesis.AccessDenied):
        return f"Add “{exc.action}” to the IAM policy (see the minimal policy below)."
    if isinstance(exc, kinesis.BadCredentials):
        return "Edit the connection and enter a working access key (or role)."
    if isinstance(exc, kinesis.StreamNotFound):
        # A connection's stream and region are fixed, so "check the name" alone is a dead end.
        return (
            "Create the stream in the Kinesis console, or connect a new destination "
            "with the right stream and region (a destination's stream cannot be changed)."
        )
    if isinstance(exc, kinesis.EndpointUnreachable | kinesis.TransientError | kinesis.Throttled):
        return "Run the check again in a moment."
    return ""
