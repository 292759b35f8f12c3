"""No secret on an error page: every view that receives a secret, forced to
fail under DEBUG (in its service, or before it runs, as with a locked
database), answers a DEBUG 500 page without the secret's value."""

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from core.error_reports import SecretHidingReporterFilter
from tests.factories import ConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLEAKME"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def connect_request(client: Client) -> tuple[str, dict[str, str], str]:
    form = {
        "auth_method": "access_keys",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "region": "us-east-1",
    }
    return reverse("destinations:connect"), form, "destinations.services.connection_draft_verify"


def edit_request(client: Client) -> tuple[str, dict[str, str], str]:
    connection = ConnectionFactory(name="Orders")
    form = {
        "name": connection.name,
        "description": "",
        "alerts_enabled": "on",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
    }
    url = reverse("destinations:edit", args=[connection.pk])
    return url, form, "destinations.services.connection_update"


def admin_rotate_request(client: Client) -> tuple[str, dict[str, str], str]:
    admin = UserFactory(username="root", is_staff=True, is_superuser=True, role="")
    client.force_login(admin)
    connection = ConnectionFactory(name="Orders")
    url = reverse("admin:destinations_connection_rotate_secret", args=[connection.pk])
    return url, {"secret_access_key": SECRET}, "destinations.services.connection_update"


def login_request(client: Client) -> tuple[str, dict[str, str], str]:
    client.logout()
    return (
        reverse("login"),
        {"username": "alice", "password": SECRET},
        "core.ratelimit.login_failed",
    )


SECRET_VIEWS = [connect_request, edit_request, admin_rotate_request, login_request]


@pytest.fixture
def debug_client(settings: Any, user: Any) -> Client:
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def assert_debug_500_without_secret(response: Any) -> None:
    html = response.content.decode()
    assert response.status_code == 500
    assert "Traceback" in html, "not a DEBUG page: the test would prove nothing"
    assert 'id="post-info"' in html and "No POST data" not in html  # the POST table...
    assert SECRET not in html  # ...without the value
    assert SECRET.replace("/", "&#x2F;") not in html


@pytest.mark.parametrize("secret_view", SECRET_VIEWS, ids=lambda f: f.__name__)
def test_a_failing_service_does_not_show_the_secret(
    debug_client: Client, secret_view: Callable
) -> None:
    url, form, service = secret_view(debug_client)
    with mock.patch(service, side_effect=RuntimeError("database is locked")):
        response = debug_client.post(url, form)
    assert_debug_500_without_secret(response)
    assert "database is locked" in response.content.decode()


@pytest.mark.parametrize("secret_view", SECRET_VIEWS, ids=lambda f: f.__name__)
def test_a_failure_before_the_view_runs_does_not_show_the_secret(
    debug_client: Client, user: Any, secret_view: Callable
) -> None:
    url, form, _ = secret_view(debug_client)
    debug_client.force_login(user)  # a session to load, from the locked database
    locked = OperationalError("database is locked")
    with mock.patch("django.contrib.sessions.backends.db.SessionStore.load", side_effect=locked):
        response = debug_client.post(url, form)
    assert_debug_500_without_secret(response)


def test_a_secret_held_under_another_name_is_hidden_from_frame_variables(rf: Any) -> None:
    request = rf.post("/", {"secret_access_key": SECRET, "name": "Orders"})

    def failing_view(credentials: dict, label: str) -> None:
        raise RuntimeError("boom")

    try:
        failing_view({"aws": ("AKIA", SECRET)}, "Orders")
    except RuntimeError as exc:
        frame = exc.__traceback__.tb_next.tb_frame
    variables = dict(SecretHidingReporterFilter().get_traceback_frame_variables(request, frame))
    assert SECRET not in repr(variables)
    assert variables["label"] == "Orders"
