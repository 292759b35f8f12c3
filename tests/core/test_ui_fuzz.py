"""Property-based fuzz of every UI form and query string (hypothesis), as a Marketer and
as a Viewer: whatever is sent, the answer is a page, a re-rendered form, a redirect or
a 4xx, never a 5xx, and nothing the input policy refuses is ever stored.

Bounded for the suite (a few examples per endpoint and role, well under a minute on
PostgreSQL). Raise UI_FUZZ_EXAMPLES to dig deeper, e.g.
UI_FUZZ_EXAMPLES=300 pytest tests/core/test_ui_fuzz.py.
"""

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activation.models import Dataflow
from core.input_policy import InputError, check_json, text_problem
from profiles.models import Identity, Profile, Segment
from tests.activation.wizard.conftest import member
from tests.activation.wizard.test_views import ready_draft
from tests.factories import (
    ConnectionFactory,
    DataflowFactory,
    DataflowSegmentFactory,
    ExportRunFactory,
    SegmentFactory,
    UserFactory,
)
from tests.support.hostile import hostile_texts

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("UI_FUZZ_EXAMPLES", "8"))


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str
    params: tuple[str, ...]
    htmx: bool = False


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    marketer = UserFactory(username="fuzz-marketer")
    viewer = UserFactory(username="fuzz-viewer", role="Viewer")
    segment = SegmentFactory(rule={"path": "loyalty.tier", "op": "exists"})
    profile = member(segment, identities={"email": "ann@example.com", "ecid": "e-1"})
    connection = ConnectionFactory(owner=marketer)
    dataflow = DataflowFactory(connection=connection)
    DataflowSegmentFactory(dataflow=dataflow, segment=segment)
    run = ExportRunFactory(dataflow=dataflow)
    draft = ready_draft(marketer, connection, [segment])
    return {
        "users": {"Marketer": marketer, "Viewer": viewer},
        "segment": segment,
        "profile": profile,
        "dataflow": dataflow,
        "run": run,
        "draft": draft,
    }


RULE = ("name", "description", "active", "mode", "match", "rule_json", "path", "op", "value")


def endpoints(world: dict[str, Any]) -> list[Endpoint]:
    segment, profile, draft = world["segment"].pk, world["profile"].pk, world["draft"].pk
    dataflow, run = world["dataflow"].pk, world["run"].pk

    def wizard(step: str) -> str:
        return reverse(f"activation:wizard_{step}", args=[draft])

    return [
        Endpoint("segment list", "GET", reverse("profiles:segment_list"), ("q",)),
        Endpoint("segment new", "POST", reverse("profiles:segment_create"), RULE),
        Endpoint("segment edit", "POST", reverse("profiles:segment_edit", args=[segment]), RULE),
        Endpoint("segment editor", "GET", reverse("profiles:segment_editor"), (*RULE, "action")),
        Endpoint("segment count", "GET", reverse("profiles:segment_count"), RULE, htmx=True),
        Endpoint("profile list", "GET", reverse("profiles:profile_list"), ("q", "page")),
        Endpoint(
            "profile page",
            "GET",
            reverse("profiles:profile_detail", args=[profile]),
            ("attributes_page",),
        ),
        Endpoint(
            "profile patch",
            "POST",
            reverse("profiles:profile_detail", args=[profile]),
            ("attributes",),
        ),
        Endpoint(
            "audit",
            "GET",
            reverse("audit:list"),
            ("q", "object_id", "object_type", "action", "via", "page"),
        ),
        Endpoint("alerts", "GET", reverse("alerts:list"), ("state", "page")),
        Endpoint(
            "dataflow list",
            "GET",
            reverse("activation:dataflow_list"),
            ("status", "destination", "page"),
        ),
        Endpoint(
            "dataflow page",
            "GET",
            reverse("activation:dataflow_detail", args=[dataflow]),
            ("tab", "period", "failures", "page"),
        ),
        Endpoint(
            "run page",
            "GET",
            reverse("activation:run_detail", args=[dataflow, run]),
            ("view", "kind", "q", "page"),
        ),
        Endpoint(
            "delivery lookup",
            "GET",
            reverse("activation:delivery_lookup"),
            ("identity", "profile", "dataflow", "page"),
        ),
        Endpoint("wizard start", "POST", reverse("activation:wizard_start"), ("connection",)),
        Endpoint(
            "wizard segments",
            "POST",
            wizard("segments"),
            ("shown", "segment", "unselect", "q", "page", "action"),
        ),
        Endpoint("wizard segment search", "GET", wizard("segments"), ("q", "page")),
        Endpoint(
            "wizard mapping",
            "POST",
            wizard("mapping"),
            (
                "source_path",
                "target_path",
                "identity",
                "hashed",
                "namespace",
                "partition_key",
                "export_only_on_value_change",
                "action",
                "add",
                "remove",
            ),
        ),
        Endpoint("wizard schema", "GET", wizard("schema"), ("picker_q",), htmx=True),
        Endpoint("wizard review", "GET", wizard("review"), ("sample", "after")),
        Endpoint("wizard sample", "GET", wizard("sample"), ("sample", "after"), htmx=True),
        Endpoint("wizard finish", "POST", wizard("finish"), ("name",)),
    ]


ENDPOINT_NAMES = [
    "segment list",
    "segment new",
    "segment edit",
    "segment editor",
    "segment count",
    "profile list",
    "profile page",
    "profile patch",
    "audit",
    "alerts",
    "dataflow list",
    "dataflow page",
    "run page",
    "delivery lookup",
    "wizard start",
    "wizard segments",
    "wizard segment search",
    "wizard mapping",
    "wizard schema",
    "wizard review",
    "wizard sample",
    "wizard finish",
]


def encoded(params: dict[str, list[str]]) -> str:
    # Lone surrogates cannot be UTF-8; a client can still send their bytes (surrogatepass),
    # which the server must read as invalid UTF-8, not crash on.
    return urlencode(params, doseq=True, encoding="utf-8", errors="surrogatepass")


def assert_nothing_unstorable_was_stored() -> None:
    for name, description, rule in Segment.objects.values_list("name", "description", "rule"):
        assert text_problem(name) is None and text_problem(description) is None
        check_json(rule)
    for attributes in Profile.objects.values_list("attributes", flat=True):
        check_json(attributes)
    for value in Identity.objects.values_list("value", flat=True):
        assert text_problem(value) is None
    for name in Dataflow.objects.values_list("name", flat=True):
        assert text_problem(name) is None


@pytest.mark.slow
@pytest.mark.parametrize("role", ["Marketer", "Viewer"])
@pytest.mark.parametrize("endpoint_name", ENDPOINT_NAMES)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(data=st.data())
def test_no_input_makes_a_ui_page_fail(world, endpoint_name, role, data):
    (endpoint,) = [e for e in endpoints(world) if e.name == endpoint_name]
    chosen = data.draw(st.lists(st.sampled_from(endpoint.params), max_size=len(endpoint.params)))
    params = {name: data.draw(st.lists(hostile_texts, min_size=1, max_size=2)) for name in chosen}
    client = Client()  # raises the view's exception, if any, right here
    client.force_login(world["users"][role])
    headers = {"HX-Request": "true"} if endpoint.htmx else {}
    if endpoint.method == "GET":
        response = client.get(f"{endpoint.url}?{encoded(params)}", headers=headers)
    else:
        response = client.post(
            endpoint.url,
            encoded(params),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
    assert response.status_code < 500, (endpoint.name, params)
    if response.status_code == 400:
        assert response["Content-Type"].startswith("text/html")
    try:
        assert_nothing_unstorable_was_stored()
    except InputError as stored:  # pragma: no cover - the failure message
        raise AssertionError(f"{endpoint.name} stored {stored}") from stored


def test_every_endpoint_is_fuzzed(world):
    assert sorted(e.name for e in endpoints(world)) == sorted(ENDPOINT_NAMES)
