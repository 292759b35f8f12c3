"""AWS regions and ARNs: which regions have Kinesis, and the ARNs the product builds or reads."""

from __future__ import annotations

import functools
import re

from destinations.kinesis.aws.clients import botocore_session, endpoint_url
from destinations.kinesis.aws.errors import InvalidRegion

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_PARTITIONS = ("aws", "aws-us-gov", "aws-cn")


def kinesis_regions() -> list[str]:
    """Every region botocore knows Kinesis in (commercial, GovCloud, China)."""
    return list(_kinesis_regions())


@functools.cache
def _kinesis_regions() -> tuple[str, ...]:
    session = botocore_session()
    regions: list[str] = []
    for partition in _PARTITIONS:
        regions += session.get_available_regions("kinesis", partition_name=partition)
    return tuple(regions)


def kinesis_region_choices() -> list[tuple[str, str]]:
    """(region, "us-east-1 — US East (N. Virginia)") for a select box."""
    descriptions: dict[str, str] = {}
    for partition in botocore_session().get_data("endpoints")["partitions"]:
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
    if endpoint_url("kinesis") is None and region not in kinesis_regions():
        raise InvalidRegion(
            f"Amazon Kinesis is not available in “{region}”. Choose the region your "
            "stream lives in from the list (it is shown in the Kinesis console's URL "
            "and the stream's ARN).",
            code="InvalidRegion",
        )


def account_id_of_arn(arn: str) -> str:
    """The account id field of an ARN (arn:partition:service:region:account:...)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else ""
