"""A marketer watches a backfill finish, finds why a profile was excluded from a run,
and looks up where a profile's records went — in a real browser."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activation.models import Backfill, Dataflow, ExportRun
from tests.factories import (
    BackfillFactory,
    ConnectionFactory,
    DataflowFactory,
    DataflowSegmentFactory,
    DeliveryLogFactory,
    ExportRunFactory,
    IdentityFactory,
    RunIssueFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Makes the page believe its tab was hidden (or shown again), as the Page Visibility API says.
VISIBILITY_JS = """hidden => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_backfill_progress_run_issue_and_delivery_lookup(logged_in_page, live_server, user):
    page = logged_in_page
    connection = ConnectionFactory(owner=user, name="Acme stream", stream_name="acme-events")
    dataflow = DataflowFactory(connection=connection, name="Newsletter to Kinesis")
    mapped = DataflowSegmentFactory(dataflow=dataflow, segment__name="Newsletter subscribers")
    backfill = BackfillFactory(
        dataflow=dataflow,
        segment=mapped.segment,
        total=400,
        processed=0,
        started_at=timezone.now(),
    )
    # The headline counts the dataflow's distinct profiles (the engine's counters).
    progress = Dataflow.objects.filter(pk=dataflow.pk)
    progress.update(backfill_total=400, backfill_started_at=backfill.started_at)
    jane = IdentityFactory(namespace="email", value="jane@example.com")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    run = ExportRunFactory(
        dataflow=dataflow,
        window_start=hour,
        profiles_received=50,
        identities_activated=48,
        identities_excluded=1,
        identities_failed=1,
    )
    RunIssueFactory(
        run=run,
        profile_id=jane.profile_id,
        identity="email:jane@example.com",
        kind="excluded",
        error_code="MissingPartitionKey",
        reason="The profile has no crmid identity to use as the partition key.",
    )
    RunIssueFactory(
        run=run, kind="failed", error_code="InternalFailure", reason="Kinesis failed the record."
    )
    DeliveryLogFactory(
        dataflow=dataflow,
        profile_id=jane.profile_id,
        reason="backfill",
        sent_at=hour - dt.timedelta(hours=3),
        shard_id="shardId-000000000002",
        sequence_number="49650000000000000000000000000000000000000000000000000042",
    )

    # 1. The dataflow page shows the backfill's progress bar and follows it live.
    page.goto(f"{live_server.url}/dataflows/")
    page.get_by_role("link", name="Newsletter to Kinesis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Newsletter to Kinesis")
    expect(page.locator("#dataflow-state")).to_have_text("Processing")
    bar = page.get_by_role("progressbar", name="Backfill in progress")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    assert (
        page.locator("#backfill-progress").evaluate(
            "el => el.closest('[aria-live]').getAttribute('aria-live')"
        )
        == "polite"
    )
    for processed in (100, 250):
        Backfill.objects.filter(pk=backfill.pk).update(processed=processed)
        progress.update(backfill_done=processed)
        expect(bar).to_have_attribute("aria-valuenow", str(processed * 100 // 400))
    expect(page.locator(".progress-summary")).to_contain_text("250 of 400 profiles")
    Backfill.objects.filter(pk=backfill.pk).update(
        processed=400, status="done", finished_at=timezone.now()
    )
    progress.update(backfill_done=400)
    done = page.get_by_role("progressbar", name="Backfill finished")
    expect(done).to_have_attribute("aria-valuenow", "100")
    expect(page.locator(".progress-summary")).to_contain_text("100 %")
    # The status header refreshed itself (Processing → Enabled).
    expect(page.locator("#dataflow-state")).to_have_text("Enabled")
    # Nothing changes any more: the page still asks, and is answered 204 (no render).
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/live/" in r.url else None)
    page.wait_for_timeout(3500)
    assert 204 in answers and set(answers) <= {200, 204}, answers

    # A refresh keeps what the reader did: the focus, an opened chart table.
    page.get_by_text("Chart data as a table").click()
    page.locator("#action-history").focus()
    # (an export moves a run's figures and its last activity together)
    ExportRun.objects.filter(pk=run.pk).update(
        profiles_received=51, last_activity_at=timezone.now()
    )
    expect(page.locator("#kpi-received")).to_have_text("51")
    expect(page.locator("#chart-data")).to_have_attribute("open", "")
    expect(page.locator("#action-history")).to_be_focused()

    # In a hidden tab the page stops asking; shown again, it asks at once.
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.evaluate(VISIBILITY_JS, True)
    asked.clear()
    page.wait_for_timeout(3500)
    assert not [url for url in asked if "/live/" in url or "/alerts/menu/" in url], asked
    with page.expect_request(lambda request: "/live/" in request.url, timeout=1000):
        page.evaluate(VISIBILITY_JS, False)

    # 2. Open the run and find why Jane was excluded.
    page.get_by_role("link", name=hour.strftime("%Y-%m-%d %H:%M")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Run of")
    page.get_by_label("Search").fill("jane@")
    row = page.locator(".issues-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("MissingPartitionKey")
    expect(row).to_contain_text("The profile has no crmid identity to use as the partition key.")

    # 3. Follow her to the delivery lookup, then look her up by identity.
    row.get_by_role("link", name=re.compile("Deliveries")).click()
    results = page.locator(".deliveries-table tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("shardId-000000000002")
    expect(results).to_contain_text("Backfill: the segment was activated or re-exported")
    page.get_by_label("Identity").fill("jane@example.com")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("alert")).to_contain_text("Type an identity as namespace:value")
    page.get_by_label("Identity").fill("email:jane@example.com")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name=f"Profile {jane.profile_id}")).to_be_visible()
    expect(results).to_contain_text("49650000000000000000000000000000000000000000000000000042")
    expect(results).to_contain_text("Newsletter to Kinesis")
    assert "identity=email%3Ajane%40example.com" in page.url


def test_an_alert_shows_in_the_menu_and_opening_it_marks_it_read(logged_in_page, live_server, user):
    from alerts.models import Alert
    from alerts.services import alert_raise, dataflow_error_key

    page = logged_in_page
    dataflow = DataflowFactory(
        connection=ConnectionFactory(owner=user),
        name="Churn risk",
        status="error",
        status_message="The stream was deleted.",
    )
    alert_raise(
        kind="dataflow_error",
        title="Dataflow “Churn risk” stopped",
        message="The stream was deleted.",
        dedupe_key=dataflow_error_key(dataflow.pk),
        dataflow=dataflow,
    )
    page.goto(f"{live_server.url}/dataflows/")
    toggle = page.locator(".notifications summary")
    expect(toggle).to_have_attribute("aria-label", "Notifications: 1 open alert, 1 new")
    with page.expect_response(lambda r: "/alerts/menu/read/" in r.url) as answer:
        toggle.click()
    assert answer.value.status == 204
    assert Alert.objects.get().read_at is not None
    page.get_by_role("link", name="Dataflow “Churn risk” stopped").click()
    expect(page.get_by_role("alert")).to_contain_text("The stream was deleted.")
    expect(page.locator(".notifications summary")).to_have_attribute(
        "aria-label", "Notifications: 1 open alert"
    )
