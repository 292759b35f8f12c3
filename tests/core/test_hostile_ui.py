"""Issue 15, points 1 and 3 (UI): every input the issue found answering 500 now gets a
form error or a 400 naming the field, and nothing unstorable is stored."""

import json
import uuid
from typing import Any

import pytest
from django.urls import reverse

from activation.models import DataflowSegment
from audit.models import AuditEntry
from core.input_policy import MAX_ID
from profiles.models import Profile, Segment
from tests.activation.wizard.conftest import member
from tests.activation.wizard.test_views import draft_with_segments, ready_draft
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
DEEP_RULE = '{"not":' * 990 + '{"path": "a", "op": "exists"}' + "}" * 990
DEEP_ARRAY = "[" * 990 + "]" * 990


@pytest.fixture
def viewer_client(client: Any) -> Any:
    client.force_login(UserFactory(role="Viewer"))
    return client


def rule_form(rule_json: str, **extra: str) -> dict:
    return {"name": "Hostile", "active": "on", "mode": "json", "rule_json": rule_json, **extra}


@pytest.mark.parametrize(
    ("rule_json", "fragment"),
    [
        (DEEP_RULE, "deeper than"),
        (DEEP_ARRAY, "deeper than"),
        ('{"path": "a", "op": "equals", "value": NaN}', "finite"),
        ('{"path": "a", "op": "gt", "value": 1e400}', "finite"),
        ('{"path": "a", "op": "equals", "value": ' + "9" * 5000 + "}", "digits"),
        ('{"path": "a", "op": "equals", "value": "x\\u0000y"}', "NUL"),
        ('{"path": "a", "op": "equals", "value": "bad\\ud800"}', "surrogate"),
        ('{"path": "a\\u0000", "op": "exists"}', "NUL"),
    ],
)
def test_a_hostile_segment_rule_is_a_form_error(logged_in_client, rule_json, fragment):
    response = logged_in_client.post(reverse("profiles:segment_create"), rule_form(rule_json))
    assert response.status_code == 400
    assert fragment in response.content.decode()
    assert not Segment.objects.exists()


@pytest.mark.parametrize("rule_json", [DEEP_RULE, DEEP_ARRAY, '{"path":"a","op":"gt","value":NaN}'])
def test_a_viewer_counting_a_hostile_rule_gets_the_problem(viewer_client, rule_json):
    response = viewer_client.get(
        reverse("profiles:segment_count"), {"mode": "json", "rule_json": rule_json}, headers=HTMX
    )
    assert response.status_code == 200
    assert "deeper than" in response.content.decode() or "finite" in response.content.decode()


def test_the_editor_switching_a_deep_rule_to_the_builder_stays_in_json(logged_in_client):
    response = logged_in_client.get(
        reverse("profiles:segment_editor"),
        {"mode": "json", "action": "to-builder", "rule_json": "[" * 100_000 + "]" * 100_000},
    )
    assert response.status_code == 200
    assert "only be edited as JSON" in response.content.decode()


def test_a_two_megabyte_segment_description_is_refused(logged_in_client):
    form = rule_form('{"path": "a", "op": "exists"}', description="x" * 2_000_000)
    response = logged_in_client.post(reverse("profiles:segment_create"), form)
    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()
    assert not Segment.objects.exists()


@pytest.fixture
def profile(db: Any) -> Profile:
    from profiles.services import profile_upsert

    result = profile_upsert(
        record={"identityMap": {"email": [{"id": "ann@example.com"}]}, "attributes": {"a": 1}},
        source="api",
    )
    return Profile.objects.get(pk=result.profile_id)


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ('{"firstName": "bad\\ud800name"}', "surrogate"),
        ('{"firstName": "x\\u0000"}', "NUL"),
        ('{"n": NaN}', "finite"),
        ('{"n": 1e400}', "finite"),
        ('{"n": ' + "1" * 5000 + "}", "digits"),
        ('{"deep": ' + DEEP_ARRAY + "}", "deeper than"),
        ('{"a": ' * 990 + "1" + "}" * 990, "deeper than"),
    ],
)
def test_a_hostile_profile_patch_is_a_form_error_and_the_page_keeps_working(
    logged_in_client, profile, patch, fragment
):
    url = reverse("profiles:profile_detail", args=[profile.pk])
    response = logged_in_client.post(url, {"attributes": patch})
    assert response.status_code == 400
    assert fragment in response.content.decode()
    profile.refresh_from_db()
    assert profile.attributes == {"a": 1}
    assert logged_in_client.get(url).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        reverse("profiles:profile_list") + "?q=%00",
        reverse("profiles:segment_list") + "?q=%00",
        reverse("audit:list") + "?q=%00",
        reverse("activation:delivery_lookup") + "?identity=email:x%00y",
        reverse("activation:dataflow_list") + "?status=%00",
    ],
)
def test_a_nul_in_a_query_string_is_a_400_naming_the_parameter(viewer_client, path):
    response = viewer_client.get(path)
    assert response.status_code == 400
    body = response.content.decode()
    assert "NUL" in body and "Input refused" in body


def test_a_nul_in_a_form_field_is_a_400_naming_it(logged_in_client):
    form = rule_form('{"path": "a", "op": "exists"}', name="bad\x00name")
    response = logged_in_client.post(reverse("profiles:segment_create"), form)
    assert response.status_code == 400
    assert "<code>name</code>" in response.content.decode()
    assert not Segment.objects.exists()


@pytest.mark.parametrize("value", ["-1", "0", str(MAX_ID + 1), "9" * 400, "1.5", "²"])
def test_the_delivery_lookup_refuses_ids_that_are_not_ids(viewer_client, value):
    response = viewer_client.get(reverse("activation:delivery_lookup"), {"profile": value})
    assert response.status_code == 200
    assert "A profile id is a whole number from 1." in response.content.decode()


@pytest.mark.parametrize("value", [str(MAX_ID + 1), "9" * 400, "²", "-1"])
def test_the_wizard_sample_refuses_ids_that_are_not_ids(logged_in_client, user, value):
    segment = SegmentFactory()
    member(segment, identities={"ecid": "e-1"})
    draft = ready_draft(user, ConnectionFactory(owner=user), [segment])
    url = reverse("activation:wizard_sample", args=[draft.pk])
    for params in ({"sample": value}, {"after": value}):
        response = logged_in_client.get(url, params, headers=HTMX)
        assert response.status_code == 200
    assert (
        "is not a profile id"
        in logged_in_client.get(url, {"sample": value}, headers=HTMX).content.decode()
    )


def test_ticking_a_segment_that_no_longer_exists_says_so(logged_in_client, user):
    kept = SegmentFactory()
    draft = draft_with_segments(user, ConnectionFactory(owner=user), [kept])
    ghost = str(uuid.uuid4())
    response = logged_in_client.post(
        reverse("activation:wizard_segments", args=[draft.pk]),
        {"shown": [str(kept.pk), ghost], "segment": [str(kept.pk), ghost], "action": "next"},
    )
    assert response.status_code == 400
    assert "Unknown segment" in response.content.decode()
    assert list(
        DataflowSegment.objects.filter(dataflow=draft).values_list("segment", flat=True)
    ) == [kept.pk]


def test_audit_page_with_hostile_filters(viewer_client):
    AuditEntry.objects.all().delete()
    for params in ({"object_id": "9" * 400}, {"object_id": "-1"}, {"page": "9" * 400}):
        assert viewer_client.get(reverse("audit:list"), params).status_code == 200


def test_profile_page_with_a_huge_attributes_page_number(logged_in_client, profile):
    url = reverse("profiles:profile_detail", args=[profile.pk])
    for page in ("9" * 400, "-1", "2"):
        response = logged_in_client.get(url, {"attributes_page": page})
        assert response.status_code == 200
        assert json.dumps(1) in response.content.decode()


@pytest.mark.parametrize("number", ["²", "9" * 400, str(MAX_ID + 1), "١٢"])
def test_numbers_in_query_strings_that_python_or_the_database_cannot_take(
    logged_in_client, user, number
):
    from tests.factories import DataflowFactory, ExportRunFactory

    run = ExportRunFactory(dataflow=DataflowFactory(connection=ConnectionFactory(owner=user)))
    pages = [
        (reverse("profiles:profile_list"), {"q": number}),
        (reverse("profiles:segment_editor"), {"action": f"remove-{number}", "path": "a"}),
        (
            reverse("profiles:segment_count"),
            {"path": "a", "op": "within_last_days", "value": number},
        ),
        (reverse("activation:run_detail", args=[run.dataflow_id, run.pk]), {"q": number}),
        (reverse("activation:wizard_start"), {"connection": number}),
        (reverse("activation:wizard_drafts"), {"connection": number}),
        (reverse("audit:list"), {"object_id": number}),
    ]
    for url, params in pages:
        response = logged_in_client.get(url, params)
        assert response.status_code in (200, 302), (url, params, response.status_code)


def mapping_post(client: Any, draft: Any, **fields: Any) -> Any:
    data = {"partition_key": "profile_id", "action": "next", **fields}
    return client.post(reverse("activation:wizard_mapping", args=[draft.pk]), data)


def test_the_wizard_caps_mapped_attributes_like_the_api(logged_in_client, user):
    from activation.services import MAX_ATTRIBUTES

    draft = draft_with_segments(user, ConnectionFactory(owner=user), [SegmentFactory()])
    paths = [f"bag.k{i}" for i in range(MAX_ATTRIBUTES + 100)]
    response = mapping_post(logged_in_client, draft, source_path=paths, target_path=[""] * 600)
    assert response.status_code == 400
    assert f"Map at most {MAX_ATTRIBUTES} attributes (600 now)" in response.content.decode()
    assert not draft.attribute_mappings.exists()
    # At the limit, with a target per row (1,000+ form fields), the mapping is saved.
    at_limit = paths[:MAX_ATTRIBUTES]
    response = mapping_post(
        logged_in_client, draft, source_path=at_limit, target_path=[""] * MAX_ATTRIBUTES
    )
    assert response.status_code == 302
    assert draft.attribute_mappings.count() == MAX_ATTRIBUTES


def test_the_wizard_refuses_a_path_no_profile_can_hold_and_an_unknown_namespace(
    logged_in_client, user
):
    draft = draft_with_segments(user, ConnectionFactory(owner=user), [SegmentFactory()])
    response = mapping_post(
        logged_in_client,
        draft,
        source_path=["crm:id"],
        target_path=[""],
        identity=["fax"],
        namespace=["fax"],
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "is not a valid path" in body
    assert "“fax” is not a registered identity namespace" in body
    assert not draft.attribute_mappings.exists()
