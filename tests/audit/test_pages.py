"""The audit log is visible in the UI (to every role) and read-only in the admin."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from core.roles import VIEWER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_entry(**fields):
    values = {
        "actor_name": "alice",
        "via": "ui",
        "action": "edited",
        "object_type": "dataflow",
        "object_id": 7,
        "object_name": "Newsletter",
        "before": {"name": "Old"},
        "after": {"name": "Newsletter"},
        "changes": [{"field": "name", "before": "Old", "after": "Newsletter"}],
    }
    return AuditEntry.objects.create(**{**values, **fields})


def test_a_viewer_sees_who_changed_what(client):
    make_entry()
    client.force_login(UserFactory(role=VIEWER))
    html = client.get(reverse("audit:list")).content.decode()
    assert "alice" in html and "Newsletter" in html and "Old" in html
    assert 'href="/audit/"' in html  # the nav entry


def test_filters_narrow_the_list_and_htmx_gets_the_table_only(logged_in_client):
    make_entry(object_name="Kept", action="enabled")
    make_entry(object_name="Dropped", action="disabled")
    response = logged_in_client.get(
        reverse("audit:list"), {"action": "enabled"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "Kept" in html and "Dropped" not in html
    assert "<html" not in html


def test_one_objects_history(logged_in_client):
    make_entry(object_id=1, object_name="One")
    make_entry(object_id=2, object_name="Two")
    html = logged_in_client.get(
        reverse("audit:list"), {"object_type": "dataflow", "object_id": "2"}
    ).content.decode()
    assert "Two" in html and ">One<" not in html


def test_bad_filter_values_are_ignored(logged_in_client):
    make_entry()
    response = logged_in_client.get(
        reverse("audit:list"), {"action": "nope", "object_id": "9" * 40, "page": "x"}
    )
    assert response.status_code == 200
    assert "Newsletter" in response.content.decode()


def test_list_changes_show_what_was_added_and_removed(logged_in_client):
    make_entry(
        changes=[{"field": "segments", "before": ["A (1)"], "after": ["B (2)"]}],
    )
    html = logged_in_client.get(reverse("audit:list")).content.decode()
    assert "\u2212 A (1)" in html and "+ B (2)" in html


def test_the_admin_shows_entries_read_only(client):
    entry = make_entry()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk])).status_code == 403


def test_connection_and_dataflow_pages_link_to_their_history(logged_in_client, user):
    from tests.factories import ConnectionFactory, DataflowFactory

    connection = ConnectionFactory(owner=user)
    dataflow = DataflowFactory(connection=connection)
    page = logged_in_client.get(reverse("destinations:detail", args=[connection.pk]))
    assert f"object_type=connection&amp;object_id={connection.pk}" in page.content.decode()
    page = logged_in_client.get(reverse("activation:dataflow_detail", args=[dataflow.pk]))
    assert f"object_type=dataflow&amp;object_id={dataflow.pk}" in page.content.decode()


def test_the_header_names_the_role(client):
    client.force_login(UserFactory(username="looker", role=VIEWER))
    assert "(Viewer)" in client.get(reverse("catalog")).content.decode()
