"""Connecting must not depend on STS: a Kinesis-only endpoint (a VPC endpoint for
Kinesis alone, another Kinesis implementation) answers STS and IAM calls with
errors. The account id then comes from the stream's ARN, and the page says which
check could not run. Each service's endpoint is its own setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from destinations.kinesis import aws as kinesis
from destinations.kinesis.aws import clients
from destinations.kinesis.permissions import INFO, UNVERIFIED, run_permission_check
from destinations.models import ConnectionDraft
from tests.destinations.conftest import STREAM
from tests.destinations.test_connect_authenticate import keys_form
from tests.support import aws_calls

ACCOUNT = "123456789012"  # moto's account: what the stream ARNs carry


def kinesis_only(service: str, operation: str, params: dict, proceed: Any) -> dict:
    """What such an endpoint answers anything but Kinesis: an error botocore cannot name."""
    if service != "kinesis":
        raise aws_calls.client_error("Unknown", "", operation=operation, status=404)
    return proceed()


def test_connecting_with_keys_takes_the_account_from_the_stream_arn(
    logged_in_client: Any, user: Any, stream: str
) -> None:
    with aws_calls.call_hook(kinesis_only):
        response = logged_in_client.post(
            reverse("destinations:connect"), keys_form(), HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert "Connected." in html and "errorlist" not in html
    assert f"(account {ACCOUNT})" in html
    assert "STS GetCallerIdentity could not run (the AWS sts endpoint in us-east-1 does not" in html
    assert "the account id comes from the stream&#x27;s ARN" in html
    draft = ConnectionDraft.objects.get(owner=user)
    assert draft.aws_account_id == ACCOUNT and draft.stream_names == [STREAM]


def test_the_permission_check_says_which_checks_could_not_run(
    stream: str, creds: kinesis.AwsCredentials
) -> None:
    with aws_calls.call_hook(kinesis_only):
        report = run_permission_check(creds, stream)
    assert report.ok and report.account_id == ACCOUNT
    items = {item.key: item for item in report.items}
    assert items["sts"].status == INFO
    assert "Could not run" in items["sts"].detail
    assert "comes from the stream's ARN" in items["sts"].detail
    for action in ("kinesis:PutRecord", "kinesis:PutRecords"):
        assert items[action].status == UNVERIFIED  # the IAM simulation could not run either
    assert items["stream_exists"].status == "pass"


def test_account_lookup_prefers_sts(aws: None, creds: kinesis.AwsCredentials) -> None:
    found = kinesis.account_lookup(creds, ["arn:aws:kinesis:us-east-1:999999999999:stream/x"])
    assert (found.account_id, found.source, found.note) == (ACCOUNT, "sts", "")


def test_each_service_has_its_own_endpoint(
    settings: Any, creds: kinesis.AwsCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.KINESIS_ENDPOINT_URL = "http://kinesis-only.internal:4566"
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = None
    # botocore's own variables never redirect a service.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere.internal")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://elsewhere.internal")
    kinesis.clear_client_cache()
    assert clients.client_for("kinesis", creds).meta.endpoint_url == settings.KINESIS_ENDPOINT_URL
    assert clients.client_for("sts", creds).meta.endpoint_url.endswith("amazonaws.com")
    assert clients.client_for("iam", creds).meta.endpoint_url.endswith("amazonaws.com")


def test_base_settings_never_send_sts_to_the_kinesis_endpoint() -> None:
    import config.settings.base as base

    source = Path(base.__file__).read_text()
    assert "AWS_ENDPOINT_URL =" not in source
    assert 'STS_ENDPOINT_URL = env.str("STS_ENDPOINT_URL", default="") or None' in source
    assert 'IAM_ENDPOINT_URL = env.str("IAM_ENDPOINT_URL", default="") or None' in source
