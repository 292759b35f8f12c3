"""The one seam to AWS: only `destinations/kinesis/aws/` imports boto3 or botocore, and
the product carries no test hook (tests hook botocore's events: tests/support/aws_calls.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEAM = ROOT / "destinations" / "kinesis" / "aws"
# Not product code: the suite, the benchmarks and CI scripts drive AWS as customers do.
NOT_PRODUCT = {"tests", "benchmarks", "docs", "static", "templates", "var", "locale"}
AWS_IMPORT = re.compile(r"^\s*(import|from)\s+(boto3|botocore)\b", re.MULTILINE)


def product_modules() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not path.relative_to(ROOT).parts[0].startswith(".")
        and path.relative_to(ROOT).parts[0] not in NOT_PRODUCT
    ]


def test_only_the_seam_imports_boto3_or_botocore() -> None:
    modules = product_modules()
    assert any(path.is_relative_to(SEAM) for path in modules)  # the scan sees the seam
    outside = [
        str(path.relative_to(ROOT))
        for path in modules
        if not path.is_relative_to(SEAM) and AWS_IMPORT.search(path.read_text())
    ]
    assert outside == []


def test_the_product_has_no_call_hook() -> None:
    hooked = [
        str(path.relative_to(ROOT))
        for path in product_modules()
        if re.search(r"call_hook|KINESIS_CALL_HOOK", path.read_text())
    ]
    assert hooked == []
