"""Connections in Django admin: masked secrets, "test connection" and "rotate secret"."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from destinations.models import Connection
from tests.admin.conftest import SECRET, STREAM
from tests.factories import ConnectionFactory
from tests.support import aws_calls

pytestmark = pytest.mark.django_db

NEW_SECRET = "rotated-in-admin-0123456789abcdefghijk"


@pytest.fixture
def connection(stream, admin_user):
    return ConnectionFactory(name="Orders", stream_name=STREAM, secret=SECRET)


def changelist_action(client, action, *ids):
    return client.post(
        reverse("admin:destinations_connection_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


def test_the_change_page_never_shows_the_secret(admin_client, connection):
    html = admin_client.get(
        reverse("admin:destinations_connection_change", args=[connection.pk])
    ).content.decode()
    assert SECRET not in html
    assert connection.secret_access_key_encrypted not in html
    assert connection.access_key_id not in html
    assert connection.masked_access_key_id in html
    assert reverse("admin:destinations_connection_rotate_secret", args=[connection.pk]) in html


def test_connections_are_created_by_the_wizard_not_the_admin(admin_client):
    assert admin_client.get(reverse("admin:destinations_connection_add")).status_code == 403


def test_test_connection_runs_the_permission_check(admin_client, connection):
    response = changelist_action(admin_client, "test_connection", connection.pk)
    assert "every check passed" in response.content.decode()
    connection.refresh_from_db()
    assert connection.health == "ok"
    assert connection.check_report["items"]


def test_test_connection_reports_a_failure(admin_client, connection, owner_kinesis):
    owner_kinesis.delete_stream(StreamName=STREAM)
    html = changelist_action(admin_client, "test_connection", connection.pk).content.decode()
    assert "Orders" in html and "exists" in html
    connection.refresh_from_db()
    assert connection.health == "failing"


def test_rotate_secret_verifies_and_stores_it_without_showing_it(admin_client, connection):
    response = changelist_action(admin_client, "rotate_secret", connection.pk)
    assert response.redirect_chain[-1][0].endswith(f"/{connection.pk}/rotate-secret/")
    url = reverse("admin:destinations_connection_rotate_secret", args=[connection.pk])
    answer = admin_client.post(url, {"secret_access_key": NEW_SECRET}, follow=True)
    html = answer.content.decode()
    assert "verified and stored" in html
    assert NEW_SECRET not in html
    connection.refresh_from_db()
    assert connection.get_secret() == NEW_SECRET
    assert connection.secret_updated_at is not None


def test_a_refused_secret_is_not_stored_and_not_echoed(admin_client, connection):
    def refuse(service, operation, params, proceed):
        raise aws_calls.client_error("SignatureDoesNotMatch", operation=operation, status=403)

    url = reverse("admin:destinations_connection_rotate_secret", args=[connection.pk])
    with aws_calls.call_hook(refuse):
        response = admin_client.post(url, {"secret_access_key": NEW_SECRET})
    html = response.content.decode()
    assert response.status_code == 200
    assert "errornote" in html
    assert NEW_SECRET not in html
    assert Connection.objects.get(pk=connection.pk).get_secret() == SECRET


def test_an_empty_secret_is_a_field_error(admin_client, connection):
    url = reverse("admin:destinations_connection_rotate_secret", args=[connection.pk])
    html = admin_client.post(url, {"secret_access_key": ""}).content.decode()
    assert "Enter the new secret access key." in html


def test_rotating_needs_exactly_one_connection(admin_client, connection):
    other = ConnectionFactory(name="Other")
    html = changelist_action(admin_client, "rotate_secret", connection.pk, other.pk)
    assert "Select exactly one connection" in html.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_rotation_in_the_admin_is_audited_as_such(admin_client, admin_user, connection):
    url = reverse("admin:destinations_connection_rotate_secret", args=[connection.pk])
    admin_client.post(url, {"secret_access_key": NEW_SECRET})
    entries = AuditEntry.objects.filter(object_type="connection", object_id=connection.pk)
    entry = entries.order_by("id").last()
    assert (entry.action, entry.actor, entry.via) == ("secret_rotated", admin_user, "admin")
    assert NEW_SECRET not in str([entry.before, entry.after, entry.changes])


FIXED = {
    "stream_name": "demo-stream-typo",
    "region": "xx-nowhere-1",
    "auth_method": "iam_role",
    "role_arn": "arn:aws:iam::123456789012:role/other",
    "external_id": "changed-by-hand",
    "destination_type": "made-up",
}


def change_url(connection):
    return reverse("admin:destinations_connection_change", args=[connection.pk])


def edit_post(connection, **overrides):
    data = {
        "name": connection.name,
        "description": connection.description,
        "include_segment_names": "on",
        "alerts_enabled": "on",
        **FIXED,
        **overrides,
    }
    return data


def test_fixed_fields_are_shown_but_not_editable(admin_client, connection):
    html = admin_client.get(change_url(connection)).content.decode()
    for field in FIXED:
        assert f'name="{field}"' not in html
    assert STREAM in html and connection.region in html
    assert "Amazon Kinesis" in html  # the destination type, by its catalog name
    for field in ("name", "description", "include_segment_names", "alerts_enabled"):
        assert f'name="{field}"' in html


def test_a_post_cannot_change_fixed_fields(admin_client, connection):
    before = {field: getattr(connection, field) for field in FIXED}
    response = admin_client.post(change_url(connection), edit_post(connection, name="Renamed"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "Renamed"
    assert connection.include_segment_names is True
    assert {field: getattr(connection, field) for field in FIXED} == before


@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_goes_through_the_service_and_is_audited(
    admin_client, admin_user, connection
):
    admin_client.post(change_url(connection), edit_post(connection, description="Orders feed"))
    entry = (
        AuditEntry.objects.filter(object_type="connection", object_id=connection.pk)
        .order_by("id")
        .last()
    )
    assert (entry.actor, entry.via) == (admin_user, "admin")
    assert "description" in str(entry.changes)


def test_a_taken_name_is_a_field_error_like_the_edit_page(admin_client, connection):
    ConnectionFactory(name="Taken", owner=connection.owner)
    response = admin_client.post(change_url(connection), edit_post(connection, name="taken"))
    assert response.status_code == 200
    assert "You already have a destination named" in response.content.decode()
    assert Connection.objects.get(pk=connection.pk).name == "Orders"
