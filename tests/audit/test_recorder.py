"""Every change of a connection or dataflow lands in the audit log, with who and what."""

import json

import pytest
from django.db import transaction
from django.urls import reverse

from activation import services as dataflows
from activation.models import Dataflow
from audit.context import acting_as
from audit.models import AuditEntry
from destinations import services as connections
from destinations.models import Connection, Health
from tests.factories import ConnectionFactory, DataflowFactory, SegmentFactory, UserFactory

# Real transactions: entries are written when the change commits.
pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def live_dataflow(user, connection, segments):
    draft = dataflows.dataflow_draft_create(user=user, connection=connection)
    dataflows.dataflow_set_segments(dataflow=draft, segment_ids=[s.pk for s in segments])
    dataflows.dataflow_set_mapping(
        dataflow=draft,
        attributes=[dataflows.AttributeSpec("person.name.firstName")],
        identities=[dataflows.IdentitySpec("email", hashed=True)],
        partition_key_source="email",
    )
    return dataflows.dataflow_finish(dataflow=draft, user=user, name="Newsletter")


def test_a_connection_created_edited_rotated_and_deleted_is_recorded_without_secrets():
    alice = UserFactory(username="alice")
    with acting_as(alice, via="ui"):
        connection = Connection(
            owner=alice,
            name="Main stream",
            access_key_id="AKIAIOSFODNN7EXAMPLE",
            region="eu-west-1",
            stream_name="orders",
        )
        connection.set_secret(SECRET)
        connection.save()
        connections.connection_update(
            connection=Connection.objects.get(pk=connection.pk),
            name="Main stream (EU)",
            description="",
            include_segment_names=True,
            include_segment_timestamps=False,
            alerts_enabled=True,
        )
        rotated = Connection.objects.get(pk=connection.pk)
        rotated.set_secret("another-secret-value-0123456789")
        rotated.save()
        Connection.objects.get(pk=connection.pk).delete()

    created, edited, rotation, deleted = entries(object_type="connection")
    assert (created.action, created.actor, created.via) == ("created", alice, "ui")
    assert created.before is None and created.after["name"] == "Main stream"
    assert created.after["secretKey"] == "hidden"
    assert edited.action == "edited"
    assert {c["field"]: (c["before"], c["after"]) for c in edited.changes} == {
        "name": ("Main stream", "Main stream (EU)"),
        "includeSegmentNames": (False, True),
    }
    assert rotation.action == "secret_rotated"
    assert rotation.changes == [{"field": "secretKey", "before": "hidden", "after": "replaced"}]
    assert deleted.action == "deleted" and deleted.after is None
    assert deleted.before["name"] == "Main stream (EU)"
    stored = json.dumps([[e.before, e.after, e.changes] for e in entries()])
    assert SECRET not in stored and "another-secret" not in stored
    assert "gAAAA" not in stored  # nor any Fernet ciphertext
    assert "AKIAIOSFODNN7EXAMPLE" not in stored  # the key id is masked


def test_health_checks_by_the_system_are_not_audited():
    connection = ConnectionFactory()
    AuditEntry.objects.all().delete()
    connections.connection_set_health(connection=connection, error=None)
    connection.refresh_from_db()
    assert connection.health == Health.OK
    assert entries() == []


def test_a_dataflow_lifecycle_is_recorded_once_per_change():
    alice = UserFactory(username="alice")
    connection = ConnectionFactory(owner=alice, name="Main stream")
    first, second = SegmentFactory(name="Buyers"), SegmentFactory(name="Churners")
    AuditEntry.objects.all().delete()

    with acting_as(alice, via="ui"):
        dataflow = live_dataflow(alice, connection, [first])
        assert entries() != []  # finishing the wizard creates it
        dataflows.dataflow_disable(dataflow=dataflow, user=alice)
        dataflows.dataflow_enable(dataflow=dataflow, user=alice)
        edit = dataflows.dataflow_edit_start(dataflow=dataflow, user=alice)
        dataflows.dataflow_set_segments(dataflow=edit, segment_ids=[first.pk, second.pk])
        dataflows.dataflow_finish(dataflow=edit, user=alice, name="Newsletter v2")
        dataflows.dataflow_delete(dataflow=Dataflow.objects.get(pk=dataflow.pk), user=alice)

    log = entries(object_type="dataflow")
    assert [e.action for e in log] == ["created", "disabled", "enabled", "edited", "deleted"]
    assert {e.object_id for e in log} == {dataflow.pk}  # never the draft copy
    assert all(e.actor == alice for e in log)
    created = log[0]
    assert created.after["status"] == "enabled"
    assert created.after["segments"] == [f"Buyers ({first.pk})"]
    assert created.after["identities"] == ["email (hashed)"]
    assert created.after["attributes"] == ["person.name.firstName"]
    assert log[1].changes == [{"field": "status", "before": "enabled", "after": "disabled"}]
    edited = {c["field"]: c for c in log[3].changes}
    assert set(edited) == {"name", "segments"}
    assert edited["segments"]["after"] == sorted(
        [f"Buyers ({first.pk})", f"Churners ({second.pk})"]
    )
    assert log[4].before["name"] == "Newsletter v2" and log[4].after is None


def test_a_service_described_change_is_one_entry_with_its_words_and_the_fields():
    alice = UserFactory(username="alice")
    connection = ConnectionFactory(owner=alice)
    AuditEntry.objects.all().delete()
    dataflow = live_dataflow(alice, connection, [SegmentFactory(name="Buyers")])
    dataflows.dataflow_disable(dataflow=dataflow, user=alice)
    edit = dataflows.dataflow_edit_start(dataflow=dataflow, user=alice)
    dataflows.dataflow_finish(dataflow=edit, user=alice, name=dataflow.name)

    created, disabled, saved = entries(object_type="dataflow")
    assert (created.action, disabled.action, saved.action) == ("created", "disabled", "edited")
    assert created.summary.startswith("Activated 1 segment(s)")
    assert created.after["segments"][0].startswith("Buyers")
    assert disabled.summary == "Disabled."
    assert disabled.changes == [{"field": "status", "before": "enabled", "after": "disabled"}]
    # No field changed, yet the save is on record (and its actor is the service's user).
    assert (saved.summary, saved.changes, saved.actor) == ("Saved without changes.", [], alice)


def test_a_rolled_back_description_leaves_nothing_and_the_next_change_is_recorded():
    from audit.recorder import describe_change

    connection = ConnectionFactory(name="Before")
    AuditEntry.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        describe_change("connection", connection.pk, action="edited", summary="Renamed.")
        connection.name = "Rolled back"
        connection.save()
        raise RuntimeError
    assert entries() == []
    with transaction.atomic():
        connection.refresh_from_db()
        connection.name = "After"
        connection.save()
    (entry,) = entries()
    assert (entry.summary, entry.changes) == (
        "",
        [{"field": "name", "before": "Before", "after": "After"}],
    )


def test_abandoned_drafts_leave_no_trace():
    alice = UserFactory()
    draft = dataflows.dataflow_draft_create(user=alice, connection=ConnectionFactory(owner=alice))
    dataflows.dataflow_set_segments(dataflow=draft, segment_ids=[SegmentFactory().pk])
    dataflows.dataflow_draft_discard(dataflow=draft)
    assert entries(object_type="dataflow") == []


def test_changes_of_a_rolled_back_transaction_are_not_recorded():
    connection = ConnectionFactory(name="Before")
    AuditEntry.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.name = "Rolled back"
        connection.save()
        raise RuntimeError
    assert entries() == []
    connection.refresh_from_db()
    connection.name = "After"
    connection.save()
    (entry,) = entries()
    assert entry.changes == [{"field": "name", "before": "Before", "after": "After"}]


def test_one_transaction_of_many_writes_is_one_entry():
    connection = ConnectionFactory(name="A")
    AuditEntry.objects.all().delete()
    with transaction.atomic():
        for name in ("B", "C", "D"):
            connection.name = name
            connection.save()
    (entry,) = entries()
    assert entry.changes == [{"field": "name", "before": "A", "after": "D"}]


def test_changes_outside_a_request_are_the_systems():
    ConnectionFactory()
    entry = entries()[0]
    assert entry.action == "created"
    assert (entry.actor, entry.actor_name, entry.via) == (None, "system", "system")


def test_a_change_made_in_the_ui_names_the_user(client):
    alice = UserFactory(username="alice")
    dataflow = DataflowFactory(connection=ConnectionFactory(owner=alice), status="enabled")
    client.force_login(alice)
    response = client.post(reverse("activation:dataflow_disable", args=[dataflow.pk]))
    assert response.status_code in (200, 204, 302)
    entry = entries(object_type="dataflow")[-1]
    assert (entry.action, entry.actor, entry.actor_name, entry.via) == (
        "disabled",
        alice,
        "alice",
        "ui",
    )


def test_a_change_made_in_the_admin_says_so(client):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    connection = ConnectionFactory(name="Old name")
    client.force_login(admin_user)
    change_url = reverse("admin:destinations_connection_change", args=[connection.pk])
    form = client.get(change_url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(name="New name", owner=connection.owner_id)
    for key, value in list(data.items()):
        if isinstance(value, bool) and not value:
            del data[key]
    response = client.post(change_url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = entries(object_type="connection")[-1]
    assert (entry.action, entry.actor, entry.via) == ("edited", admin_user, "admin")
    assert {"field": "name", "before": "Old name", "after": "New name"} in entry.changes
