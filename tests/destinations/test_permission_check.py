"""The permission check page: per item, pass/fail with the fix; health follows it."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse

from destinations.kinesis.permissions import run_permission_check
from destinations.services import connection_run_check
from tests.destinations.conftest import STREAM
from tests.support import aws_calls

HTMX = {"HTTP_HX_REQUEST": "true"}


def statuses(report: Any) -> dict[str, str]:
    return {item.key: item.status for item in report.items}


def simulating(decisions: dict[str, str]) -> aws_calls.CallHook:
    """IAM policy simulation answering `decisions` (moto does not implement it)."""

    def hook(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation != "SimulatePrincipalPolicy":
            return proceed()
        return {
            "EvaluationResults": [
                {"EvalActionName": action, "EvalDecision": decisions[action]}
                for action in params["ActionNames"]
            ],
            "IsTruncated": False,
        }

    return hook


def test_a_healthy_stream_passes(stream: str, creds: Any) -> None:
    report = run_permission_check(creds, stream)
    assert statuses(report) == {
        "list_streams": "pass",
        "stream_exists": "pass",
        "active": "pass",
        "capacity": "info",
        "encryption": "info",
        "kinesis:PutRecord": "unverified",
        "kinesis:PutRecords": "unverified",
    }
    assert report.ok
    assert report.account_id == "123456789012"
    capacity = next(i for i in report.items if i.key == "capacity")
    assert "Provisioned, 2 open shard(s): up to 2,000 records/s" in capacity.detail
    put = next(i for i in report.items if i.key == "kinesis:PutRecord")
    assert "verified at the first export" in put.detail.lower()


def test_simulation_decides_the_write_permissions(stream: str, creds: Any) -> None:
    hook = simulating({"kinesis:PutRecord": "allowed", "kinesis:PutRecords": "implicitDeny"})
    with aws_calls.call_hook(hook):
        report = run_permission_check(creds, stream)
    assert statuses(report)["kinesis:PutRecord"] == "pass"
    failed = next(i for i in report.items if i.key == "kinesis:PutRecords")
    assert failed.status == "fail"
    assert "Add “kinesis:PutRecords”" in failed.fix
    assert not report.ok


def test_a_missing_stream_fails_with_the_fix(aws: None, creds: Any) -> None:
    report = run_permission_check(creds, "nope")
    item = next(i for i in report.items if i.key == "stream_exists")
    assert item.status == "fail"
    assert "“nope” does not exist in us-east-1" in item.detail
    # The stream of a connection cannot be edited: the fix names the ways out.
    assert "Create the stream" in item.fix and "connect a new destination" in item.fix


def test_without_describe_permission_the_list_is_used(stream: str, creds: Any) -> None:
    def deny_describe(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "DescribeStreamSummary":
            raise aws_calls.client_error("AccessDeniedException", operation=operation)
        return proceed()

    with aws_calls.call_hook(deny_describe):
        report = run_permission_check(creds, stream)
    assert statuses(report)["stream_exists"] == "pass"
    assert statuses(report)["describe"] == "warn"
    assert report.ok  # DescribeStreamSummary is optional


def test_list_streams_denied_fails_and_names_the_action(stream: str, creds: Any) -> None:
    def deny_list(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "ListStreams":
            raise aws_calls.client_error("AccessDeniedException", operation=operation)
        return proceed()

    with aws_calls.call_hook(deny_list):
        report = run_permission_check(creds, stream)
    item = report.items[0]
    assert (item.key, item.status) == ("list_streams", "fail")
    assert "Add “kinesis:ListStreams”" in item.fix
    assert statuses(report)["stream_exists"] == "pass"  # described directly


def test_bad_credentials_stop_the_check(aws: None, creds: Any) -> None:
    def unknown(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("UnrecognizedClientException", operation=operation)

    with aws_calls.call_hook(unknown):
        report = run_permission_check(creds, STREAM)
    assert [i.status for i in report.items] == ["fail"]
    assert "does not recognise" in report.items[0].detail


def test_a_kms_stream_needs_generate_data_key(owner_kinesis: Any, stream: str, creds: Any) -> None:
    owner_kinesis.start_stream_encryption(
        StreamName=stream, EncryptionType="KMS", KeyId="arn:aws:kms:us-east-1:123456789012:key/k1"
    )
    report = run_permission_check(creds, stream)
    kms = next(i for i in report.items if i.key == "kms")
    assert kms.status == "unverified"
    assert "kms:GenerateDataKey" in kms.fix
    with aws_calls.call_hook(
        simulating(
            {
                "kms:GenerateDataKey": "explicitDeny",
                "kinesis:PutRecord": "allowed",
                "kinesis:PutRecords": "allowed",
            }
        )
    ):
        report = run_permission_check(creds, stream)
    assert statuses(report)["kms"] == "fail"


def test_the_aws_managed_key_needs_nothing_extra(
    owner_kinesis: Any, stream: str, creds: Any
) -> None:
    owner_kinesis.start_stream_encryption(
        StreamName=stream, EncryptionType="KMS", KeyId="alias/aws/kinesis"
    )
    report = run_permission_check(creds, stream)
    assert statuses(report)["encryption"] == "pass"


def test_a_deleting_stream_fails(stream: str, creds: Any) -> None:
    def deleting(service: str, operation: str, params: dict, proceed: Any) -> dict:
        response = proceed()
        if operation == "DescribeStreamSummary":
            response["StreamDescriptionSummary"]["StreamStatus"] = "DELETING"
        return response

    with aws_calls.call_hook(deleting):
        report = run_permission_check(creds, stream)
    assert statuses(report)["active"] == "fail"


def test_running_the_check_sets_health(connection: Any) -> None:
    connection_run_check(connection=connection)
    connection.refresh_from_db()
    assert connection.health == "ok"
    assert connection.health_checked_at is not None
    connection.stream_name = "gone"
    connection.save()
    connection_run_check(connection=connection)
    connection.refresh_from_db()
    assert connection.health == "failing"
    assert "“gone” does not exist" in connection.health_message


def test_the_page_runs_the_check_on_first_view(logged_in_client: Any, connection: Any) -> None:
    page = logged_in_client.get(reverse("destinations:detail", args=[connection.pk]))
    html = page.content.decode()
    assert 'hx-trigger="load"' in html  # no report yet: the panel asks for it
    panel = logged_in_client.post(reverse("destinations:check", args=[connection.pk]), **HTMX)
    html = panel.content.decode()
    assert html.lstrip().startswith('<section id="check-panel"')
    assert "kinesis:ListStreams" in html and "Pass" in html
    assert "Not verified yet" in html
    assert 'hx-trigger="load"' not in html
    assert 'id="health-badge" hx-swap-oob="true"' in html and "Healthy" in html


def test_the_page_shows_the_filled_in_policy(logged_in_client: Any, connection: Any) -> None:
    connection_run_check(connection=connection)
    html = logged_in_client.get(reverse("destinations:detail", args=[connection.pk])).content
    html = html.decode()
    start = html.index('<pre id="iam-policy">') + len('<pre id="iam-policy">')
    policy = json.loads(html[start : html.index("</pre>", start)].replace("&quot;", '"'))
    write = policy["Statement"][1]
    assert write["Resource"] == [f"arn:aws:kinesis:us-east-1:123456789012:stream/{STREAM}"]
    assert "kinesis:PutRecords" in write["Action"]
    assert 'data-copy-target="#iam-policy"' in html


def test_a_teammates_connection_is_shared_and_a_missing_one_is_not_found(
    logged_in_client: Any, db: Any
) -> None:
    from tests.factories import ConnectionFactory

    teammates = ConnectionFactory()
    for name in ("detail", "edit"):
        url = reverse(f"destinations:{name}", args=[teammates.pk])
        assert logged_in_client.get(url).status_code == 200
    missing = teammates.pk + 1000
    for name in ("detail", "edit"):
        url = reverse(f"destinations:{name}", args=[missing])
        assert logged_in_client.get(url).status_code == 404
    for name in ("check", "test_record", "delete"):
        url = reverse(f"destinations:{name}", args=[missing])
        assert logged_in_client.post(url).status_code == 404
