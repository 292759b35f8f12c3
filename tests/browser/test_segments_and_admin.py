"""Issue 16, points 3-6 in a real browser: an admin without back doors, segments that
know their dataflows, search that finds, and the cross-links between pages."""

import pytest
from playwright.sync_api import expect

from destinations.models import Connection
from profiles.models import Segment
from profiles.segments import segment_create, segment_evaluate
from profiles.services import profiles_upsert
from tests.audit.trail import described_changes
from tests.conftest import PASSWORD
from tests.factories import ConnectionFactory, DataflowSegmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOLD = {"path": "loyalty.tier", "op": "equals", "value": "gold"}


@pytest.fixture
def people():
    records = [
        {
            "identityMap": {"email": [{"id": f"p{i}@x.io"}], "phone": [{"id": f"+1555010{i:04d}"}]},
            "attributes": {"loyalty": {"tier": "gold" if i % 3 == 0 else "silver"}},
        }
        for i in range(9)
    ]
    return [r.profile_id for r in profiles_upsert(records=records, source="api")]


@pytest.fixture
def exported_gold(people):
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    segment_evaluate(segment_id=segment.pk)
    mapped = DataflowSegmentFactory(segment=segment, dataflow__name="Newsletter")
    return segment, mapped.dataflow


def test_admin_shows_fixed_connection_fields_read_only(page, live_server):
    admin = UserFactory(
        username="root", is_staff=True, is_superuser=True, role="", password=PASSWORD
    )
    connection = ConnectionFactory(name="Orders", stream_name="orders-stream")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/destinations/connection/{connection.pk}/change/")
    expect(page.locator(".field-stream_name .readonly")).to_have_text("orders-stream")
    expect(page.locator(".field-region .readonly")).to_have_text("us-east-1")
    expect(page.locator("input[name=stream_name], input[name=region]")).to_have_count(0)
    page.locator("#id_name").fill("Orders (EU)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    saved = Connection.objects.get(pk=connection.pk)
    assert (saved.name, saved.stream_name) == ("Orders (EU)", "orders-stream")


def test_a_rule_change_of_an_exported_segment_is_previewed_then_confirmed(
    logged_in_page, live_server, exported_gold, monkeypatch
):
    monkeypatch.setattr("profiles.tasks.segment_evaluate_task.delay", lambda *a: None)
    segment, dataflow = exported_gold
    page = logged_in_page
    page.goto(f"{live_server.url}/segments/")
    exported_by = page.locator(".segment-exporters").get_by_role("link", name="Newsletter")
    expect(exported_by).to_have_attribute("href", f"/dataflows/{dataflow.pk}/")
    page.get_by_role("link", name="Gold").click()
    expect(page.locator("#segment-exporters")).to_contain_text("Newsletter")
    page.get_by_label("Value").fill("silver")
    page.get_by_role("button", name="Save segment").click()
    preview = page.locator("#rule-change-preview")
    expect(preview).to_contain_text(
        "3 member(s) leave, 6 join; 9 record(s) go to dataflow “Newsletter”."
    )
    assert Segment.objects.get(pk=segment.pk).rule == GOLD
    page.get_by_role("button", name="Confirm and save").click()
    expect(page.locator("#messages")).to_contain_text("Segment “Gold” saved.")
    assert "silver" in str(Segment.objects.get(pk=segment.pk).rule)


def test_deleting_an_exported_segment_names_its_dataflows(
    logged_in_page, live_server, exported_gold
):
    segment, dataflow = exported_gold
    page = logged_in_page
    page.goto(f"{live_server.url}/segments/{segment.pk}/")
    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Segments", level=1)).to_be_visible()
    assert "“Newsletter” stop exporting it" in messages[0]
    expect(page.locator("body")).to_contain_text("“Newsletter” no longer exports it")
    assert described_changes(dataflow).exists()
    page.goto(f"{live_server.url}/dataflows/{dataflow.pk}/")
    expect(page.locator(".segment-notices")).to_contain_text("Segment “Gold” was deleted")


def test_bare_values_find_profiles_and_pages_link_to_each_other(
    logged_in_page, live_server, people
):
    page = logged_in_page
    page.get_by_role("link", name="Profiles").click()
    page.get_by_label("Find a profile").fill("+1 555 010 0004")
    results = page.locator("#profile-results")
    expect(results.get_by_role("row")).to_have_count(2)
    results.get_by_role("link").first.click()
    page.get_by_role("link", name="Deliveries of this profile").click()
    expect(page.get_by_role("heading", name=f"Profile {people[4]}")).to_be_visible()
    page.get_by_label("Identity").fill("P4@X.io")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name=f"Profile {people[4]}")).to_be_visible()
