"""Live pages: an unchanged poll answers 204 without rendering; any change the page
shows changes the version, and the next poll renders the fragments in place."""

import datetime as dt
import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import core.live
from activation.models import Backfill, Dataflow, ExportRun
from activation.monitoring import selectors as sel
from alerts.services import alert_raise, dataflow_error_key
from destinations.models import Connection
from tests.activation.monitoring.conftest import this_hour
from tests.factories import AlertFactory, BackfillFactory, DataflowFactory, ExportRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Versions also move with the minute: hold it, so only data moves them here."""
    monkeypatch.setattr(core.live, "current_minute", lambda: 29_000_000)


HTMX = {"HTTP_HX_REQUEST": "true"}


def live_url(dataflow, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("activation:dataflow_live", args=[dataflow.pk]) + (f"?{query}" if query else "")


def version_in(html: str, element_id: str) -> str:
    tag = re.search(rf'<[^>]*id="{element_id}"[^>]*>', html).group(0)
    return re.search(r"[?&;]v=([0-9a-f]+)", tag).group(1)


def test_the_dataflow_page_polls_with_its_version(logged_in_client, dataflow):
    html = logged_in_client.get(reverse("activation:dataflow_detail", args=[dataflow.pk]))
    html = html.content.decode()
    version = version_in(html, "dataflow-live")
    assert version == sel.dataflow_page_version(dataflow_id=dataflow.pk)
    assert 'hx-trigger="every 1500ms, live-refresh"' in html and "data-live" in html


def test_an_unchanged_poll_answers_204_without_rendering(logged_in_client, dataflow):
    version = sel.dataflow_page_version(dataflow_id=dataflow.pk)
    with CaptureQueriesContext(db) as queries:
        response = logged_in_client.get(live_url(dataflow, v=version), **HTMX)
    assert response.status_code == 204 and response.content == b""
    assert not response.templates
    # The session, the user and the version: nothing else.
    assert len(queries) <= 3, [q["sql"] for q in queries]


def test_a_changed_poll_renders_every_fragment_out_of_band(logged_in_client, dataflow):
    ExportRunFactory(dataflow=dataflow, window_start=this_hour(), profiles_received=7)
    response = logged_in_client.get(live_url(dataflow, v="old", period="7d"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<span id="dataflow-live" hidden')
    new = version_in(html, "dataflow-live")
    assert new == sel.dataflow_page_version(dataflow_id=dataflow.pk)
    # The poller keeps the page's own view (period 7d), and nothing carries the old version.
    assert "period=7d" in html and "v=old" not in html
    for fragment in ("dataflow-status", "open-alerts", "backfill-progress", "runs-live"):
        assert re.search(rf'id="{fragment}"[^>]*hx-swap-oob="true"', html), fragment
    assert '<span class="stat-value" id="kpi-received">7</span>' in html


def test_the_activation_tab_polls_without_the_runs_fragment(logged_in_client, dataflow):
    html = logged_in_client.get(live_url(dataflow, v="old", tab="activation"), **HTMX)
    html = html.content.decode()
    assert 'id="dataflow-status"' in html and 'id="runs-live"' not in html


def test_unknown_or_draft_dataflows_are_404(logged_in_client, dataflow):
    assert (
        logged_in_client.get(live_url(dataflow).replace(str(dataflow.pk), "999999")).status_code
        == 404
    )
    Dataflow.objects.filter(pk=dataflow.pk).update(status="draft")
    assert logged_in_client.get(live_url(dataflow)).status_code == 404


def test_polls_need_a_login(client, dataflow):
    response = client.get(live_url(dataflow, v="x"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    "change",
    [
        "last_activity",
        "status",
        "delayed",
        "run",
        "new_run",
        "backfill",
        "health",
        "alert",
        "lock",
        "name",
        "backfill_done",
    ],
)
def test_every_change_the_page_shows_changes_the_version(dataflow, change):
    run = ExportRunFactory(dataflow=dataflow, window_start=this_hour(1))
    backfill = BackfillFactory(dataflow=dataflow, total=10, processed=0)
    before = sel.dataflow_page_version(dataflow_id=dataflow.pk)
    assert sel.dataflow_page_version(dataflow_id=dataflow.pk) == before
    flows = Dataflow.objects.filter(pk=dataflow.pk)
    now = timezone.now()
    if change == "last_activity":
        flows.update(last_activity_at=now)
    elif change == "status":
        flows.update(status="error", status_message="The stream was deleted.")
    elif change == "delayed":
        flows.update(failure_count=1, status_message="Delivery delayed.")
    elif change == "run":
        ExportRun.objects.filter(pk=run.pk).update(last_activity_at=now)
    elif change == "new_run":
        ExportRunFactory(dataflow=dataflow, window_start=this_hour())
    elif change == "backfill":
        Backfill.objects.filter(pk=backfill.pk).update(processed=5)
    elif change == "health":
        Connection.objects.filter(pk=dataflow.connection_id).update(health="failing")
    elif change == "alert":
        alert_raise(
            kind="dataflow_error",
            title="Stopped",
            message="",
            dedupe_key=dataflow_error_key(dataflow.pk),
            dataflow=dataflow,
        )
    elif change == "lock":
        flows.update(lock_token="abc", locked_until=now + dt.timedelta(seconds=30))
    elif change == "name":  # any column of the dataflow the page may show
        flows.update(name="Renamed")
    elif change == "backfill_done":  # the engine's distinct-profile progress
        flows.update(backfill_done=3)
    assert sel.dataflow_page_version(dataflow_id=dataflow.pk) != before


def test_what_the_page_does_not_show_leaves_the_version_alone(dataflow):
    """A run renewing its lease or moving the change cursor past changes that export
    nothing costs the open pages no render."""
    flows = Dataflow.objects.filter(pk=dataflow.pk)
    now = timezone.now()
    flows.update(lock_token="abc", locked_until=now + dt.timedelta(seconds=30))
    before = sel.dataflow_page_version(dataflow_id=dataflow.pk)
    flows.update(
        locked_until=now + dt.timedelta(seconds=60),
        cursor_txid=42,
        cursor_change_id=7,
        run_scheduled_for=now,
        last_run_at=now,
    )
    assert sel.dataflow_page_version(dataflow_id=dataflow.pk) == before


def test_versions_move_with_the_minute_for_relative_times(dataflow, monkeypatch):
    minute = 30_000_000
    monkeypatch.setattr(core.live, "current_minute", lambda: minute)
    first = sel.dataflow_page_version(dataflow_id=dataflow.pk)
    assert sel.dataflow_page_version(dataflow_id=dataflow.pk) == first
    minute += 1
    assert sel.dataflow_page_version(dataflow_id=dataflow.pk) != first


# --- the dataflows page ------------------------------------------------------------------


def test_the_dataflows_table_polls_and_answers_204_while_unchanged(logged_in_client, dataflow):
    url = reverse("activation:dataflow_list") + "?status=enabled"
    html = logged_in_client.get(url).content.decode()
    version = version_in(html, "dataflow-table")
    headers = {**HTMX, "HTTP_HX_TARGET": "dataflow-table"}
    assert logged_in_client.get(f"{url}&v={version}", **headers).status_code == 204
    Dataflow.objects.filter(pk=dataflow.pk).update(last_activity_at=timezone.now())
    response = logged_in_client.get(f"{url}&v={version}", **headers)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="dataflow-table"')
    assert "status=enabled" in html and version_in(html, "dataflow-table") != version
    assert "just now" in html


@pytest.mark.parametrize("change", ["new", "status", "backfill", "health", "failures"])
def test_the_dataflows_page_version_follows_every_dataflow(user, dataflow, change):
    before = sel.dataflow_list_version(user=user)
    if change == "new":
        DataflowFactory(connection=dataflow.connection)
    elif change == "status":
        Dataflow.objects.filter(pk=dataflow.pk).update(status="disabled")
    elif change == "backfill":
        BackfillFactory(dataflow=dataflow)
    elif change == "health":
        Connection.objects.update(health="failing", health_checked_at=timezone.now())
    elif change == "failures":
        Dataflow.objects.filter(pk=dataflow.pk).update(failure_count=1)
    assert sel.dataflow_list_version(user=user) != before


# --- the destination page ----------------------------------------------------------------


def test_the_destination_page_shows_its_dataflows_live(logged_in_client, dataflow, settings):
    url = reverse("activation:connection_live", args=[dataflow.connection_id])
    version = sel.connection_page_version(connection_id=dataflow.connection_id)
    assert logged_in_client.get(f"{url}?v={version}", **HTMX).status_code == 204
    Dataflow.objects.filter(pk=dataflow.pk).update(
        status="error", status_message="The stream acme-events was deleted."
    )
    Connection.objects.filter(pk=dataflow.connection_id).update(
        health="failing", health_message="The stream acme-events was deleted."
    )
    html = logged_in_client.get(f"{url}?v={version}", **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="connection-dataflows"')
    assert re.search(r'id="connection-dataflows"[^>]*hx-swap-oob="true"', html)
    assert re.search(r'id="health-badge"[^>]*hx-swap-oob="true"[^>]*>Failing<', html)
    assert "Newsletter to Kinesis" in html and "The stream acme-events was deleted." in html
    assert version_in(html, "connection-live") != version


# --- the alerts menu ----------------------------------------------------------------------


def test_the_alerts_menu_polls_and_refreshes_its_parts(logged_in_client, user):
    html = logged_in_client.get(reverse("catalog")).content.decode()
    version = version_in(html, "notifications-poller")
    url = reverse("alerts:menu")
    assert logged_in_client.get(f"{url}?v={version}", **HTMX).status_code == 204
    AlertFactory(recipient=user, title="Dataflow “A” stopped")
    response = logged_in_client.get(
        f"{url}?v={version}", HTTP_HX_CURRENT_URL="http://testserver/dataflows/?x=1", **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<span id="notifications-poller" hidden')
    assert re.search(r'id="notifications-summary"[^>]*hx-swap-oob="true"', html)
    assert 'aria-label="Notifications: 1 open alert, 1 new"' in html
    assert "Dataflow “A” stopped" in html and "just now" in html
    # Dismissing from the menu returns to the page it is on, not to the poll's URL.
    assert 'name="next" value="/dataflows/?x=1"' in html
