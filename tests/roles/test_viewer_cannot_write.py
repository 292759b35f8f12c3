"""A Viewer can change nothing: every write to every URL is refused with 403."""

import pytest
from django.urls import Resolver404, resolve

from core.roles import FORBIDDEN_MESSAGE, VIEWER_ALLOWED_WRITES
from tests.roles.urlwalk import walk

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")


def all_urls():
    return list(walk())


def test_the_walk_reaches_every_url_and_each_sample_resolves():
    urls = all_urls()
    unresolved = []
    for url in urls:
        try:
            resolve(url.path)
        except Resolver404:
            unresolved.append(url)
    assert not unresolved, f"sample paths that do not resolve: {unresolved}"
    names = {url.view_name for url in urls}
    # A few known write endpoints of several areas are part of the walk.
    assert {"alerts:dismiss", "logout", "admin:auth_user_change"} <= names
    assert len(urls) > 50


def test_a_viewer_gets_403_on_every_write_of_every_url(viewer_client):
    allowed = []
    failures = []
    for url in all_urls():
        if url.view_name in VIEWER_ALLOWED_WRITES:
            allowed.append(url.view_name)
            continue
        for method in WRITE_METHODS:
            response = getattr(viewer_client, method)(url.path)
            if response.status_code != 403:
                failures.append(
                    f"{method.upper()} {url.path} ({url.view_name}): {response.status_code}"
                )
    assert not failures, "\n".join(failures)
    assert set(allowed) == VIEWER_ALLOWED_WRITES


def test_a_viewer_still_reads_pages(viewer_client):
    assert viewer_client.get("/catalog/").status_code == 200


def test_the_refusal_page_says_why(viewer_client):
    response = viewer_client.post("/alerts/1/dismiss/")
    assert response.status_code == 403
    assert FORBIDDEN_MESSAGE in response.content.decode()


def test_htmx_writes_get_a_fragment_shown_in_the_message_area(viewer_client):
    response = viewer_client.post("/alerts/1/dismiss/", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert "<html" not in response.content.decode()


def test_json_clients_get_the_api_error_format(viewer_client):
    response = viewer_client.post("/alerts/1/dismiss/", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_marketer_passes_the_role_check(logged_in_client):
    response = logged_in_client.post("/alerts/1/dismiss/")
    assert response.status_code == 404  # reached the view: no such alert


def test_a_user_without_role_is_read_only(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(role=""))
    assert client.post("/alerts/1/dismiss/").status_code == 403


def test_a_viewer_may_still_log_out_and_mark_notifications_read(viewer_client):
    assert viewer_client.post("/alerts/menu/read/").status_code == 204
    assert viewer_client.post("/logout/").status_code == 302
