import re

import pytest
from playwright.sync_api import expect

from profiles.models import Segment
from profiles.services import profiles_upsert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people():
    records = [
        {
            "identityMap": {"email": [{"id": f"p{i}@x.io"}]},
            "attributes": {
                "person": {"name": {"firstName": f"Ann{i}", "lastName": "Lee"}},
                "loyalty": {"tier": "gold" if i % 3 == 0 else "silver", "points": i * 100},
            },
        }
        for i in range(9)
    ]
    return [r.profile_id for r in profiles_upsert(records=records, source="api")]


def test_the_segment_editor_counts_matches_live_and_saves(
    logged_in_page, live_server, people, monkeypatch
):
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    page = logged_in_page
    page.goto(f"{live_server.url}/segments/new/")
    page.get_by_label("Name").fill("Gold members")
    page.get_by_label("Attribute").fill("loyalty.tier")
    page.get_by_label("Operator").select_option("equals")
    page.get_by_label("Value").fill("gold")
    count = page.locator("#live-count")
    expect(count).to_contain_text("3 of 9 profiles match")

    page.get_by_role("button", name="Add condition").click()
    expect(page.locator("li.condition")).to_have_count(2)
    expect(count).to_contain_text("not complete yet")
    page.locator("#path-1").fill("loyalty.points")
    page.locator("#op-1").select_option("gte")
    page.locator("#value-1").fill("300")
    expect(count).to_contain_text("2 of 9 profiles match")

    page.get_by_role("button", name="Create segment").click()
    expect(page.get_by_role("heading", name="Gold members")).to_be_visible()
    segment = Segment.objects.get(name="Gold members")
    assert page.url.endswith(f"/segments/{segment.pk}/")
    assert segment.rule["and"][1] == {"path": "loyalty.points", "op": "gte", "value": 300}


def test_a_marketer_finds_a_profile_by_identity(logged_in_page, live_server, people):
    page = logged_in_page
    page.get_by_role("link", name="Profiles").click()
    page.get_by_label("Find a profile").fill("email:P3@x.io")
    results = page.locator("#profile-results")
    expect(results.get_by_role("row")).to_have_count(2)
    expect(results).to_contain_text("Ann3 Lee")
    assert re.search(r"q=email%3AP3%40x\.io|q=email:P3@x.io", page.url)
    results.get_by_role("link", name=f"Profile {people[3]}").click()
    expect(page.get_by_role("heading", name="Ann3 Lee")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent changes")).to_be_visible()


def test_a_search_typed_before_the_scripts_load_is_still_applied(logged_in_page, live_server):
    """A fast typist (or the browser restoring the box on Back) fills the search while
    htmx is still loading: once htmx is up the list follows the box, not the page's
    original query."""
    from tests.factories import SegmentFactory

    SegmentFactory(name="VIP customers")
    SegmentFactory(name="Newsletter subscribers")
    page = logged_in_page
    held = []
    page.route(re.compile(r"/htmx-2[^/]*\.js$"), lambda route: held.append(route))  # hold htmx
    page.goto(f"{live_server.url}/segments/", wait_until="commit")
    page.get_by_label("Search segments").fill("vip")
    for _ in range(100):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page asked for htmx"
    held[0].continue_()
    expect(page.get_by_text("Newsletter subscribers")).to_have_count(0)
    expect(page.get_by_role("link", name="VIP customers")).to_be_visible()
