"""Every page of the product, walked from the URL resolver with real objects:
none fails, none carries an inline script (the CSP forbids it), none redirects
off-site, and a Viewer is offered no write form.
"""

import re
from typing import Any

import pytest
from django.contrib import admin
from django.utils import timezone

from core.roles import VIEWER, VIEWER_ALLOWED_WRITES
from destinations.models import ConnectionDraft
from tests.factories import (
    AlertFactory,
    ConnectionFactory,
    DataflowFactory,
    DataflowSegmentFactory,
    ExportRunFactory,
    ProfileFactory,
    UserFactory,
)
from tests.roles.urlwalk import walk

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
EVIL = "https://evil.example.com/"


@pytest.fixture
def world(db: Any) -> dict:
    owner = UserFactory(username="owner", is_staff=True, is_superuser=True)
    connection = ConnectionFactory(owner=owner)
    live = DataflowFactory(connection=connection, created_by=owner)
    mapped = DataflowSegmentFactory(dataflow=live)
    draft = DataflowFactory(connection=connection, created_by=owner, status="draft")
    run = ExportRunFactory(dataflow=live)
    connection_draft = ConnectionDraft.objects.create(
        owner=owner, region="us-east-1", stream_names=["orders"], verified_at=timezone.now()
    )
    return {
        "owner": owner,
        "values": {
            ("destinations:", "pk"): connection.pk,
            ("destinations:", "draft_id"): connection_draft.pk,
            ("destinations:", "key"): "kinesis",
            ("activation:", "dataflow_id"): live.pk,
            ("activation:", "connection_id"): connection.pk,
            ("activation:", "run_id"): run.pk,
            ("activation:", "segment_id"): mapped.segment_id,
            ("activation:", "pk"): draft.pk,
            ("profiles:", "segment_id"): mapped.segment_id,
            ("profiles:", "pk"): ProfileFactory().pk,
            ("profiles:", "profile_id"): ProfileFactory().pk,
            ("alerts:", "alert_id"): AlertFactory(recipient=owner, connection=connection).pk,
        },
    }


def product_urls(world: dict) -> list:
    def values(namespace: str, argument: str) -> str | None:
        value = world["values"].get((namespace, argument))
        return None if value is None else str(value)

    return [u for u in walk(values=values) if not u.path.startswith(("/admin/", "/api/"))]


def admin_urls(world: dict) -> list[str]:
    urls = ["/admin/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, f"{base}?q=x", f"{base}add/"]
        first = model.objects.order_by("pk").first()
        if first is not None:
            urls.append(f"{base}{first.pk}/change/")
    return urls


def inline_scripts(html: str) -> list[str]:
    """Script bodies in the page. JSON data blocks (json_script) are data, not code:
    browsers never run them and the CSP does not apply to them."""
    return [
        body[:80]
        for attributes, body in SCRIPT.findall(html)
        if ("src=" not in attributes or body.strip()) and "application/json" not in attributes
    ]


def test_every_page_renders_and_has_no_inline_script(client, world):
    client.force_login(world["owner"])
    checked, failures = 0, []
    paths = [u.path for u in product_urls(world)] + admin_urls(world) + ["/api/v1/docs"]
    for path in paths:
        response = client.get(path)
        if response.status_code >= 500:
            failures.append(f"GET {path}: {response.status_code}")
            continue
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            checked += 1
            if found := inline_scripts(response.content.decode()):
                failures.append(f"GET {path}: inline script {found}")
            policy = response.get("Content-Security-Policy", "")
            if "script-src 'self'" not in policy:
                failures.append(f"GET {path}: no CSP")
    assert not failures, "\n".join(failures)
    assert checked > 60  # the walk really rendered the pages


def test_no_page_redirects_off_site(client, world):
    client.force_login(world["owner"])
    failures = []
    for url in product_urls(world):
        if url.view_name in {"logout", "activation:dataflow_delete", "destinations:delete"}:
            continue
        query = f"?next={EVIL}&return_to={EVIL}&redirect={EVIL}"
        for method in ("get", "post"):
            data = {"next": EVIL} if method == "post" else None
            response = getattr(client, method)(url.path + query, data)
            location = response.get("Location", "")
            if response.status_code in (301, 302, 303, 307, 308) and "evil.example" in location:
                failures.append(f"{method.upper()} {url.path} -> {location}")
            if response.headers.get("HX-Redirect", "").startswith("https://evil"):
                failures.append(f"{method.upper()} {url.path} -> HX-Redirect off-site")
    assert not failures, "\n".join(failures)


POST_FORM = re.compile(r"<form\b[^>]*method=[\"']?post[^>]*>(.*?)</form>", re.I | re.S)
SUBMIT = re.compile(r"<button\b(?![^>]*type=[\"'](?:button|reset))|type=[\"']submit", re.I)
HX_WRITE = re.compile(r"<[^>]*\bhx-(?:post|put|patch|delete)=[^>]*>", re.I)


def write_controls(html: str) -> list[str]:
    """POST forms a user can submit, and elements that send writes through htmx."""
    forms = [m.group(0)[:120] for m in POST_FORM.finditer(html) if SUBMIT.search(m.group(1))]
    return forms + [m.group(0)[:120] for m in HX_WRITE.finditer(html)]


def test_a_viewer_is_offered_no_write_form(client, world):
    client.force_login(UserFactory(username="looker", role=VIEWER))
    # The language switch changes only the viewer's own preference (README "Languages").
    allowed = ("/logout/", "/alerts/menu/read/", "/language")
    failures = []
    for url in product_urls(world):
        response = client.get(url.path)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for tag in write_controls(response.content.decode()):
            if not any(target in tag for target in allowed):
                failures.append(f"{url.path}: {tag}")
    assert not failures, "\n".join(failures)
    assert {"login", "logout", "alerts:menu_read", "switch_language"} == VIEWER_ALLOWED_WRITES
