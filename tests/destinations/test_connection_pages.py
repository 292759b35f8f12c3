"""The destinations page, a connection's page, test records, edit/rotate and delete."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse

from destinations.models import Connection
from destinations.services import connection_run_check
from tests.destinations.conftest import KEY_ID, SECRET, read_stream
from tests.factories import ConnectionFactory, DataflowFactory
from tests.support import aws_calls

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_list_shows_health_and_dataflow_count(logged_in_client: Any, user: Any) -> None:
    healthy = ConnectionFactory(owner=user, name="Healthy", health="ok")
    ConnectionFactory(
        owner=user, name="Broken", health="failing", health_message="Stream “x” does not exist"
    )
    ConnectionFactory(name="A teammate's")
    DataflowFactory(connection=healthy)
    DataflowFactory(connection=healthy)
    html = logged_in_client.get(reverse("destinations:list")).content.decode()
    # The workspace is shared: a teammate's connection is listed too.
    assert "Healthy" in html and "Broken" in html and "A teammate&#x27;s" in html
    assert "Stream “x” does not exist" in html
    assert "<td>2</td>" in html and "<td>0</td>" in html
    assert "AKIA…MPLE" in html
    assert SECRET not in html


def test_a_test_record_is_written_only_on_request(
    logged_in_client: Any, connection: Any, owner_kinesis: Any
) -> None:
    connection_run_check(connection=connection)
    logged_in_client.get(reverse("destinations:detail", args=[connection.pk]))
    assert read_stream(owner_kinesis, connection.stream_name) == []  # never automatic
    response = logged_in_client.post(
        reverse("destinations:test_record", args=[connection.pk]), **HTMX
    )
    html = response.content.decode()
    records = read_stream(owner_kinesis, connection.stream_name)
    # One record per call: PutRecord, and PutRecords (the call exports use).
    assert [json.loads(r["Data"])["call"] for r in records] == ["PutRecord", "PutRecords"]
    for record in records:
        assert json.loads(record["Data"])["streamlineTestRecord"] is True
        assert record["PartitionKey"] == "streamline-test-record"
        assert f"<code>{record['SequenceNumber']}</code>" in html.replace(' class="seq"', "")
    assert (
        "kinesis:PutRecord: verified.</strong> Test record written to shard <code>shardId-" in html
    )
    assert "kinesis:PutRecords: verified." in html
    # The check panel comes along out of band with both writes now verified.
    assert 'id="check-panel"' in html and 'hx-swap-oob="true"' in html
    connection.refresh_from_db()
    items = {i["key"]: i["status"] for i in connection.check_report["items"]}
    assert items["kinesis:PutRecord"] == items["kinesis:PutRecords"] == "pass"


def test_a_test_record_says_which_call_failed(logged_in_client: Any, connection: Any) -> None:
    """PutRecord written, PutRecords' record failed: each result says so."""

    def refuse_batch(service: str, operation: str, params: dict, proceed: Any) -> dict:
        if operation == "PutRecords":
            return aws_calls.fail_records(proceed(), [0], "InternalFailure", "Internal error.")
        return proceed()

    with aws_calls.call_hook(refuse_batch):
        html = logged_in_client.post(
            reverse("destinations:test_record", args=[connection.pk]), **HTMX
        ).content.decode()
    assert "kinesis:PutRecord: verified." in html
    assert (
        "kinesis:PutRecords: failed.</strong> Kinesis refused the record: InternalFailure" in html
    )


def test_a_failed_test_record_says_why(logged_in_client: Any, connection: Any) -> None:
    def deny(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("AccessDeniedException", operation=operation)

    with aws_calls.call_hook(deny):
        html = logged_in_client.post(
            reverse("destinations:test_record", args=[connection.pk]), **HTMX
        ).content.decode()
    assert "not allowed to call kinesis:PutRecord" in html


def test_the_page_links_to_the_stream_inspector(logged_in_client: Any, connection: Any) -> None:
    logged_in_client.post(reverse("destinations:test_record", args=[connection.pk]), **HTMX)
    html = logged_in_client.get(
        reverse("destinations:detail", args=[connection.pk])
    ).content.decode()
    inspector = reverse("activation:stream_inspector", args=[connection.pk])
    assert f'href="{inspector}?from=destination"' in html  # the breadcrumb leads back here
    page = logged_in_client.get(inspector + "?read=1").content.decode()
    assert "streamlineTestRecord" in page


def edit_form(connection: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "name": connection.name,
        "description": connection.description,
        "alerts_enabled": "on",
        "access_key_id": "",
        "secret_access_key": "",
        **overrides,
    }


def test_editing_keeps_a_blank_secret(logged_in_client: Any, connection: Any) -> None:
    before = connection.secret_access_key_encrypted
    url = reverse("destinations:edit", args=[connection.pk])
    page = logged_in_client.get(url).content.decode()
    assert SECRET not in page and KEY_ID not in page and "AKIA…MPLE" in page
    response = logged_in_client.post(
        url,
        edit_form(connection, name="Renamed", include_segment_timestamps="on", alerts_enabled=""),
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "Renamed"
    assert connection.include_segment_timestamps and not connection.alerts_enabled
    assert connection.secret_access_key_encrypted == before


def test_rotating_keys_verifies_them_and_reruns_the_check(
    logged_in_client: Any, connection: Any
) -> None:
    connection_run_check(connection=connection)
    url = reverse("destinations:edit", args=[connection.pk])
    response = logged_in_client.post(
        url,
        edit_form(connection, access_key_id="AKIANEWKEY0000000001", secret_access_key="new-secret"),
        follow=True,
    )
    html = response.content.decode()
    assert "New credentials verified" in html
    assert 'hx-trigger="load"' in html  # the check runs again
    assert "new-secret" not in html
    connection.refresh_from_db()
    assert connection.access_key_id == "AKIANEWKEY0000000001"
    assert connection.get_secret() == "new-secret"
    assert connection.check_report == {} and connection.health == "unknown"


def test_a_new_secret_alone_keeps_the_key_id(logged_in_client: Any, connection: Any) -> None:
    url = reverse("destinations:edit", args=[connection.pk])
    logged_in_client.post(url, edit_form(connection, secret_access_key="rotated-secret"))
    connection.refresh_from_db()
    assert (connection.access_key_id, connection.get_secret()) == (KEY_ID, "rotated-secret")


def test_a_rejected_new_key_saves_nothing(logged_in_client: Any, connection: Any) -> None:
    def wrong_secret(service: str, operation: str, params: dict, proceed: Any) -> dict:
        raise aws_calls.client_error("InvalidSignatureException", operation=operation)

    url = reverse("destinations:edit", args=[connection.pk])
    with aws_calls.call_hook(wrong_secret):
        html = logged_in_client.post(
            url, edit_form(connection, name="Renamed", secret_access_key="typo-secret")
        ).content.decode()
    assert "secret access key does not match" in html
    assert 'id="id_secret_access_key_error"' in html
    assert "typo-secret" not in html
    assert 'value="Renamed"' in html  # what was typed is kept
    connection.refresh_from_db()
    assert connection.name == "Orders stream"
    assert connection.get_secret() == SECRET


def test_a_new_key_id_needs_its_secret(logged_in_client: Any, connection: Any) -> None:
    url = reverse("destinations:edit", args=[connection.pk])
    html = logged_in_client.post(
        url, edit_form(connection, access_key_id="AKIANEWKEY0000000001")
    ).content.decode()
    assert "Enter the secret access key of the new access key" in html


def test_a_role_connection_can_change_its_role(
    logged_in_client: Any, user: Any, stream: str
) -> None:
    connection = ConnectionFactory(
        owner=user,
        auth_method="iam_role",
        access_key_id="",
        role_arn="arn:aws:iam::123456789012:role/Old",
        external_id="ext-old",
        stream_name=stream,
    )
    url = reverse("destinations:edit", args=[connection.pk])
    logged_in_client.post(
        url,
        edit_form(connection, role_arn="arn:aws:iam::123456789012:role/New", external_id="ext-new"),
    )
    connection.refresh_from_db()
    assert (connection.role_arn, connection.external_id) == (
        "arn:aws:iam::123456789012:role/New",
        "ext-new",
    )


def test_delete_is_refused_while_dataflows_use_it(logged_in_client: Any, connection: Any) -> None:
    DataflowFactory(connection=connection, name="VIP buyers")
    response = logged_in_client.post(
        reverse("destinations:delete", args=[connection.pk]), follow=True
    )
    html = response.content.decode()
    assert "cannot be deleted: 1 dataflow(s) send to it (“VIP buyers”)" in html
    assert "Delete those dataflows first" in html
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_a_destination_in_use_shows_delete_disabled_with_the_reason(
    logged_in_client: Any, connection: Any
) -> None:
    page = logged_in_client.get(reverse("destinations:detail", args=[connection.pk]))
    assert 'class="btn btn-danger">Delete</button>' in page.content.decode()
    DataflowFactory(connection=connection, name="VIP buyers", status="enabled")
    html = logged_in_client.get(reverse("destinations:detail", args=[connection.pk])).content
    html = html.decode()
    assert 'class="btn btn-danger" disabled aria-describedby="delete-refusal"' in html
    assert "In use by 1 dataflow: delete it first" in html


def test_delete(logged_in_client: Any, connection: Any) -> None:
    response = logged_in_client.post(
        reverse("destinations:delete", args=[connection.pk]), follow=True
    )
    assert "Deleted the destination “Orders stream”" in response.content.decode()
    assert not Connection.objects.filter(pk=connection.pk).exists()


def test_delete_discards_unfinished_activation_drafts(
    logged_in_client: Any, connection: Any
) -> None:
    draft = DataflowFactory(connection=connection, name="Half-done", status="draft")
    response = logged_in_client.post(
        reverse("destinations:delete", args=[connection.pk]), follow=True
    )
    assert "Deleted the destination" in response.content.decode()
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not type(draft).objects.filter(pk=draft.pk).exists()


def test_the_dataflow_count_leaves_out_drafts(logged_in_client: Any, user: Any) -> None:
    connection = ConnectionFactory(owner=user, name="Only drafts")
    DataflowFactory(connection=connection, status="draft")
    html = logged_in_client.get(reverse("destinations:list")).content.decode()
    assert "<td>0</td>" in html


def test_delete_needs_post(logged_in_client: Any, connection: Any) -> None:
    response = logged_in_client.get(reverse("destinations:delete", args=[connection.pk]))
    assert response.status_code == 405


def test_a_viewer_sees_no_write_buttons_and_cannot_write(client: Any, connection: Any) -> None:
    from tests.factories import UserFactory

    viewer = UserFactory(role="Viewer")
    connection.owner = viewer
    connection.save()
    client.force_login(viewer)
    html = client.get(reverse("destinations:detail", args=[connection.pk])).content.decode()
    assert "Send a test record</button>" not in html
    assert 'hx-trigger="load"' not in html and "Not checked yet." in html
    assert reverse("destinations:edit", args=[connection.pk]) not in html
    response = client.post(reverse("destinations:test_record", args=[connection.pk]))
    assert response.status_code == 403
