"""Secrets: ciphertext at rest, never in HTML, logs, the admin or the session."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from core import crypto
from destinations.models import Connection, ConnectionDraft
from destinations.services import connection_drafts_purge
from destinations.tasks import connection_drafts_purge_task
from tests.destinations.conftest import KEY_ID, REGION, SECRET, STREAM
from tests.factories import ConnectionFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def raw_secret_column(model: Any, pk: Any) -> str:
    """The column as stored, read with SQL past the ORM."""
    table = model._meta.db_table
    key = model._meta.pk.get_db_prep_value(pk, db)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT secret_access_key_encrypted FROM {table} WHERE id = %s", [key])
        return cursor.fetchone()[0]


def test_the_column_holds_ciphertext(db: Any) -> None:
    connection = ConnectionFactory(secret=SECRET)
    raw = raw_secret_column(Connection, connection.pk)
    assert SECRET not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert crypto.decrypt(raw) == SECRET


def walk_the_wizard(client: Any) -> Connection:
    """Step 1 (with a wrong attempt first), step 2, the check, a test record, edit pages."""
    pages: list[str] = []
    connect = reverse("destinations:connect")
    form = {
        "auth_method": "access_keys",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "region": REGION,
    }
    pages.append(client.get(connect).content.decode())
    pages.append(
        client.post(connect, {**form, "access_key_id": "ASIAIOSFODNN7EXAMPLE"}).content.decode()
    )
    pages.append(client.post(connect, form, **HTMX).content.decode())
    draft = ConnectionDraft.objects.get()
    assert SECRET not in raw_secret_column(ConnectionDraft, draft.pk)
    details = reverse("destinations:connect_details", args=[draft.pk])
    pages.append(client.get(details).content.decode())
    pages.append(client.post(details, {"name": "", "stream_name": STREAM}).content.decode())
    client.post(details, {"name": "Orders", "stream_name": STREAM, "alerts_enabled": "on"})
    connection = Connection.objects.get()
    pages.append(client.get(reverse("destinations:detail", args=[connection.pk])).content.decode())
    pages.append(
        client.post(reverse("destinations:check", args=[connection.pk]), **HTMX).content.decode()
    )
    pages.append(
        client.post(
            reverse("destinations:test_record", args=[connection.pk]), **HTMX
        ).content.decode()
    )
    pages.append(client.get(reverse("destinations:edit", args=[connection.pk])).content.decode())
    pages.append(client.get(reverse("destinations:list")).content.decode())
    for html in pages:
        assert SECRET not in html
    return connection


def test_the_secret_is_in_no_page_log_line_or_session(
    logged_in_client: Any, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "urllib3", "destinations", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection = walk_the_wizard(logged_in_client)
    assert connection.get_secret() == SECRET
    assert caplog.records  # logging was captured at DEBUG
    assert SECRET not in caplog.text
    for session in Session.objects.all():
        assert SECRET not in str(session.get_decoded())
        assert SECRET not in session.session_data


def test_the_admin_never_shows_the_secret(client: Any, db: Any) -> None:
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    connection = ConnectionFactory(secret=SECRET)
    draft = ConnectionDraft(owner=admin, access_key_id=KEY_ID, region=REGION)
    draft.set_secret(SECRET)
    draft.save()
    pages = [
        reverse("admin:destinations_connection_changelist"),
        reverse("admin:destinations_connection_change", args=[connection.pk]),
        reverse("admin:destinations_connectiondraft_changelist"),
        reverse("admin:destinations_connectiondraft_change", args=[draft.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html
        assert connection.secret_access_key_encrypted not in html
        assert KEY_ID not in html


def test_rotate_encryption_key_reencrypts_every_secret(settings: Any, db: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    connection = ConnectionFactory(secret=SECRET)
    draft = ConnectionDraft(owner=connection.owner, access_key_id=KEY_ID, region=REGION)
    draft.set_secret("draft-secret")
    draft.save()
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.FIELD_ENCRYPTION_KEY = new  # the old key is gone now
    connection.refresh_from_db()
    draft.refresh_from_db()
    assert connection.get_secret() == SECRET
    assert draft.get_secret() == "draft-secret"


def test_rotate_encryption_key_refuses_without_the_old_key(settings: Any, db: Any) -> None:
    from django.core.management.base import CommandError

    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    connection = ConnectionFactory(secret=SECRET)
    before = connection.secret_access_key_encrypted
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(CommandError, match="Keep the old key"):
        call_command("rotate_encryption_key")
    connection.refresh_from_db()
    assert connection.secret_access_key_encrypted == before


def test_abandoned_drafts_are_purged(db: Any) -> None:
    owner = UserFactory()
    old = ConnectionDraft.objects.create(owner=owner, region=REGION)
    fresh = ConnectionDraft.objects.create(owner=owner, region=REGION)
    ConnectionDraft.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert connection_drafts_purge_task() == 1
    assert list(ConnectionDraft.objects.all()) == [fresh]
    assert connection_drafts_purge(older_than=dt.timedelta(0)) == 1


def test_the_purge_is_scheduled(db: Any) -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="destinations.tasks.connection_drafts_purge_task")
    assert task.enabled and task.interval.every == 3600
