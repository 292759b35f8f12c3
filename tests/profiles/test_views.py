import json

import pytest
from django.urls import reverse

from core.roles import user_set_role
from profiles.models import Profile, ProfileChange, Segment
from profiles.segments import segment_create
from profiles.services import profiles_upsert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOLD = {"path": "loyalty.tier", "op": "equals", "value": "gold"}


@pytest.fixture
def people():
    records = [
        {
            "identityMap": {"email": [{"id": f"p{i}@x.io"}], "crmid": [{"id": f"CRM-{i}"}]},
            "attributes": {
                "person": {"name": {"firstName": f"Ann{i}", "lastName": "Lee"}},
                "loyalty": {"tier": "gold" if i % 3 == 0 else "silver", "points": i * 100},
            },
        }
        for i in range(9)
    ]
    return [r.profile_id for r in profiles_upsert(records=records, source="api")]


def builder(**extra):
    data = {"name": "Gold", "description": "", "active": "on", "mode": "builder", "match": "and"}
    data.update({"path": ["loyalty.tier"], "op": ["equals"], "value": ["gold"]})
    data.update(extra)
    return data


def test_segment_list_shows_sizes_and_filters(logged_in_client, people):
    segment = segment_create(name="Gold members", rule=GOLD, evaluate=False)
    segment_create(name="Other", rule={"path": "x", "op": "exists"}, evaluate=False)
    html = logged_in_client.get(reverse("profiles:segment_list")).content.decode()
    assert reverse("profiles:segment_edit", args=[segment.pk]) in html
    assert "Gold members" in html and "Other" in html
    filtered = logged_in_client.get(
        reverse("profiles:segment_list"), {"q": "gold"}, HTTP_HX_REQUEST="true"
    )
    fragment = filtered.content.decode()
    assert "Gold members" in fragment and "Other" not in fragment
    assert "<html" not in fragment


def test_creating_a_segment_with_the_builder(
    logged_in_client, people, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            reverse("profiles:segment_create"),
            builder(
                path=["loyalty.tier", "loyalty.points"],
                op=["in", "gte"],
                value=["gold, platinum", "300"],
            ),
        )
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("profiles:segment_edit", args=[segment.pk])
    assert segment.rule == {
        "and": [
            {"path": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
            {"path": "loyalty.points", "op": "gte", "value": 300},
        ]
    }
    assert queued == [str(segment.pk)]


def test_a_bad_condition_rerenders_the_form_with_the_error_on_its_row(logged_in_client):
    response = logged_in_client.post(
        reverse("profiles:segment_create"),
        builder(
            path=["loyalty.tier", "person.birthDate"],
            op=["equals", "lt"],
            value=["gold", "last year"],
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "must be a number or a date (YYYY-MM-DD)" in html
    assert 'value="last year"' in html, "what the user typed is kept"
    assert not Segment.objects.exists()


def test_the_json_editor_reports_bad_json_and_bad_nodes(logged_in_client):
    url = reverse("profiles:segment_create")
    bad_json = logged_in_client.post(url, builder(mode="json", rule_json="{oops"))
    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.content.decode()
    bad_node = logged_in_client.post(
        url, builder(mode="json", rule_json=json.dumps({"or": [GOLD, {"path": "a", "op": "like"}]}))
    )
    assert "rule.or[1].op: must be one of" in bad_node.content.decode()
    nested = {"not": {"or": [GOLD, {"path": "loyalty.points", "op": "lt", "value": 100}]}}
    ok = logged_in_client.post(
        url, builder(mode="json", rule_json=json.dumps(nested), name="Nested")
    )
    assert ok.status_code == 302
    assert Segment.objects.get(name="Nested").rule == nested


def test_a_name_is_required(logged_in_client):
    response = logged_in_client.post(reverse("profiles:segment_create"), builder(name=""))
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_editing_a_segment_keeps_builder_or_json_mode(logged_in_client):
    simple = segment_create(name="Simple", rule=GOLD, evaluate=False)
    html = logged_in_client.get(reverse("profiles:segment_edit", args=[simple.pk])).content.decode()
    assert 'name="path" value="loyalty.tier"' in html
    nested = segment_create(name="Nested", rule={"not": GOLD}, evaluate=False)
    html = logged_in_client.get(reverse("profiles:segment_edit", args=[nested.pk])).content.decode()
    assert 'name="rule_json"' in html and "&quot;not&quot;" in html
    response = logged_in_client.post(
        reverse("profiles:segment_edit", args=[simple.pk]),
        builder(name="Renamed", value=["silver"], active=""),
    )
    assert response.status_code == 302
    simple.refresh_from_db()
    assert (simple.name, simple.active, simple.rule["and"][0]["value"]) == (
        "Renamed",
        False,
        "silver",
    )


def test_live_count_counts_matching_profiles(logged_in_client, people):
    url = reverse("profiles:segment_count")
    data = {
        "mode": "builder",
        "match": "and",
        "path": "loyalty.tier",
        "op": "equals",
        "value": "gold",
    }
    html = logged_in_client.get(url, data).content.decode()
    assert '<span class="live-count-number">3</span> of 9 profiles' in html
    data["match"], data["op"], data["value"] = "or", "not_equals", "gold"
    assert (
        '<span class="live-count-number">6</span>'
        in logged_in_client.get(url, data).content.decode()
    )
    incomplete = logged_in_client.get(url, {**data, "path": ""}).content.decode()
    assert "not complete yet" in incomplete and "Condition 1" in incomplete


def test_the_editor_adds_removes_and_switches_modes(logged_in_client):
    url = reverse("profiles:segment_editor")
    base = {
        "mode": "builder",
        "match": "or",
        "path": ["a", "b"],
        "op": ["equals", "exists"],
        "value": ["1", ""],
    }
    added = logged_in_client.get(url, {**base, "action": "add"})
    assert added["HX-Trigger-After-Settle"] == "rule-changed"
    assert added.content.decode().count('name="path"') == 3
    removed = logged_in_client.get(url, {**base, "action": "remove-0"}).content.decode()
    assert removed.count('name="path"') == 1 and 'value="b"' in removed
    as_json = logged_in_client.get(url, {**base, "action": "to-json"}).content.decode()
    assert 'name="mode" value="json"' in as_json and "&quot;or&quot;" in as_json
    back = logged_in_client.get(
        url, {"mode": "json", "rule_json": json.dumps({"or": [GOLD]}), "action": "to-builder"}
    ).content.decode()
    assert 'name="mode" value="builder"' in back and 'value="loyalty.tier"' in back
    stuck = logged_in_client.get(
        url, {"mode": "json", "rule_json": json.dumps({"not": GOLD}), "action": "to-builder"}
    ).content.decode()
    assert "can only be edited as JSON" in stuck


def test_deleting_and_re_evaluating(logged_in_client, monkeypatch):
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    response = logged_in_client.post(reverse("profiles:segment_evaluate", args=[segment.pk]))
    assert response.status_code == 302
    logged_in_client.post(reverse("profiles:segment_delete", args=[segment.pk]))
    assert not Segment.objects.exists()


def test_member_counts_poll_until_the_evaluation_is_done(logged_in_client, people):
    from profiles.segments import segment_evaluate

    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    url = reverse("profiles:segment_members", args=[segment.pk])
    pending = logged_in_client.get(url)
    assert pending.status_code == 200 and "Evaluating every profile" in pending.content.decode()
    segment_evaluate(segment_id=segment.pk)
    done = logged_in_client.get(url)
    assert done.status_code == 286
    assert "<strong>3</strong>" in done.content.decode()


def test_profile_search_by_identity(logged_in_client, people):
    url = reverse("profiles:profile_list")
    html = logged_in_client.get(url, {"q": "email:P3@x.io"}).content.decode()
    assert reverse("profiles:profile_detail", args=[people[3]]) in html
    assert reverse("profiles:profile_detail", args=[people[4]]) not in html
    by_crm = logged_in_client.get(url, {"q": "CRM-5"}, HTTP_HX_REQUEST="true").content.decode()
    assert f"Profile {people[5]}" in by_crm and "<html" not in by_crm
    none = logged_in_client.get(url, {"q": "email:nobody@x.io"}).content.decode()
    assert "No profile has the identity" in none


def test_profile_page_shows_attributes_identities_memberships_and_changes(logged_in_client, people):
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    profiles_upsert(
        records=[
            {
                "identityMap": {"email": [{"id": "p0@x.io"}]},
                "attributes": {"loyalty": {"points": 5}},
            }
        ],
        source="api",
    )
    html = logged_in_client.get(
        reverse("profiles:profile_detail", args=[people[0]])
    ).content.decode()
    assert "Ann0 Lee" in html
    assert "crmid" in html and "CRM-0" in html
    assert reverse("profiles:segment_edit", args=[segment.pk]) in html and "Realized" in html
    assert "loyalty.points" in html and "&quot;points&quot;: 5" in html
    assert "+ email:p0@x.io" in html


def test_attributes_can_be_updated_from_the_profile_page(logged_in_client, people):
    url = reverse("profiles:profile_detail", args=[people[1]])
    response = logged_in_client.post(
        url, {"attributes": '{"loyalty": {"tier": null}, "vip": true}'}
    )
    assert response.status_code == 302
    profile = Profile.objects.get(pk=people[1])
    assert profile.attributes["vip"] is True and "tier" not in profile.attributes["loyalty"]
    assert ProfileChange.objects.filter(profile_id=profile.pk).latest("id").source == "ui"
    bad = logged_in_client.post(url, {"attributes": '{"a.b": 1}'})
    assert bad.status_code == 400 and "attributes.a.b" in bad.content.decode()
    not_json = logged_in_client.post(url, {"attributes": "{nope"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.content.decode()


def test_viewers_see_pages_but_cannot_change_anything(client, people):
    viewer = UserFactory()
    user_set_role(user=viewer, role="Viewer")
    client.force_login(viewer)
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    page = client.get(reverse("profiles:segment_edit", args=[segment.pk])).content.decode()
    assert "Save segment" not in page and "Delete" not in page
    assert client.post(reverse("profiles:segment_create"), builder()).status_code == 403
    assert client.post(reverse("profiles:segment_delete", args=[segment.pk])).status_code == 403
    assert (
        client.get(
            reverse("profiles:segment_count"), {"mode": "json", "rule_json": json.dumps(GOLD)}
        ).status_code
        == 200
    )


def test_pages_need_a_login(client):
    response = client.get(reverse("profiles:segment_create"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
