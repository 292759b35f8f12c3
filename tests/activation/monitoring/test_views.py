import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from activation.models import Backfill, Dataflow, DataflowStatus
from tests.activation.monitoring.conftest import this_hour
from tests.factories import (
    BackfillFactory,
    DataflowFactory,
    DataflowSegmentFactory,
    DeliveryLogFactory,
    ExportRunFactory,
    IdentityFactory,
    RunIssueFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def detail_url(dataflow, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("activation:dataflow_detail", args=[dataflow.pk]) + (
        f"?{query}" if query else ""
    )


# --- dataflows page ---------------------------------------------------------------------


def test_list_says_how_to_start_when_there_are_no_dataflows(logged_in_client):
    html = logged_in_client.get(reverse("activation:dataflow_list")).content.decode()
    assert "No dataflows yet" in html


def test_list_shows_status_destination_health_and_error_message(logged_in_client, dataflow):
    DataflowFactory(
        connection=dataflow.connection,
        name="Broken flow",
        status=DataflowStatus.ERROR,
        status_message="The stream acme-events no longer exists.",
    )
    html = logged_in_client.get(reverse("activation:dataflow_list")).content.decode()
    assert "Newsletter to Kinesis" in html and "Broken flow" in html
    assert '<span class="status status-error">Error</span>' in html
    assert "The stream acme-events no longer exists." in html
    assert "Acme stream" in html and "Not checked yet" in html


def test_list_filter_answers_htmx_with_the_table_only(logged_in_client, dataflow):
    DataflowFactory(connection=dataflow.connection, name="Broken flow", status="error")
    response = logged_in_client.get(
        reverse("activation:dataflow_list") + "?status=error",
        HTTP_HX_TARGET="dataflow-table",
        **HTMX,
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dataflow-table"')
    assert "Broken flow" in html and "Newsletter to Kinesis" not in html


def test_list_filter_without_matches_offers_to_clear_it(logged_in_client, dataflow):
    html = logged_in_client.get(
        reverse("activation:dataflow_list") + "?status=error"
    ).content.decode()
    assert "No dataflow matches these filters" in html


# --- dataflow detail ----------------------------------------------------------------------


def test_detail_runs_tab_lists_runs_with_rates_and_a_chart(logged_in_client, dataflow):
    run = ExportRunFactory(
        dataflow=dataflow,
        window_start=this_hour(1),
        profiles_received=200,
        identities_activated=190,
        identities_excluded=6,
        identities_failed=4,
        processing_ms=2500,
    )
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert reverse("activation:run_detail", args=[dataflow.pk, run.pk]) in html
    assert "98.0 %" in html  # (190 + 6) / 200
    assert "2.5 s" in html
    assert '<span class="badge badge-warn"' in html  # 6 of 200 excluded: above 1 %
    assert '<svg class="chart"' in html and "Chart data as a table" in html


def test_detail_runs_empty_state(logged_in_client, dataflow):
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert "No runs last 24 hours" in html


def test_detail_failures_only_and_period(logged_in_client, dataflow):
    ExportRunFactory(
        dataflow=dataflow,
        window_start=this_hour(30),
        identities_failed=0,
        status="success",
        profiles_received=11,
    )
    ExportRunFactory(
        dataflow=dataflow, window_start=this_hour(50), identities_failed=2, profiles_received=22
    )
    html = logged_in_client.get(detail_url(dataflow, period="7d")).content.decode()
    assert "Page" not in html or "2 in all" in html
    assert html.count("/runs/") == 2
    html = logged_in_client.get(detail_url(dataflow, period="7d", failures=1)).content.decode()
    assert html.count("/runs/") == 1
    assert 'aria-current="true">Failures only ✓' in html
    html = logged_in_client.get(detail_url(dataflow, failures=1)).content.decode()
    assert "No run with failures last 24 hours" in html


def test_detail_runs_are_paginated(logged_in_client, dataflow):
    for hour in range(30):
        ExportRunFactory(dataflow=dataflow, window_start=this_hour(hour))
    html = logged_in_client.get(detail_url(dataflow, period="7d")).content.decode()
    assert html.count("/runs/") == 25
    assert "Page 1 of 2" in html
    html = logged_in_client.get(detail_url(dataflow, period="7d", page=2)).content.decode()
    assert html.count("/runs/") == 5


def test_detail_activation_tab_shows_mapping(logged_in_client, dataflow):
    mapped = DataflowSegmentFactory(dataflow=dataflow, segment__name="Newsletter subscribers")
    dataflow.attribute_mappings.create(source_path="person.name.firstName")
    dataflow.identity_selections.create(namespace="email", hashed=True)
    dataflow.partition_key_source = "crmid"
    dataflow.save()
    html = logged_in_client.get(detail_url(dataflow, tab="activation")).content.decode()
    assert "Newsletter subscribers" in html and str(mapped.segment_id) in html
    assert mapped.mapping_created_at.strftime("%Y-%m-%d %H:%M") in html
    assert "person.name.firstName" in html
    assert "email_lc_sha256" in html
    assert "<code>crmid</code>" in html
    assert reverse("activation:segment_replay", args=[dataflow.pk, mapped.segment_id]) in html


def test_detail_tab_switch_answers_htmx_with_the_panel_only(logged_in_client, dataflow):
    response = logged_in_client.get(
        detail_url(dataflow, tab="activation"), HTTP_HX_TARGET="tab-panel", **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tab-panel"')
    assert "<h1>" not in html


def test_detail_of_a_dataflow_in_error_says_what_to_do(logged_in_client, dataflow):
    dataflow.status = DataflowStatus.ERROR
    dataflow.status_message = "Kinesis refuses kinesis:PutRecords for this access key."
    dataflow.last_error_code = "AccessDenied"
    dataflow.retry_at = timezone.now() + dt.timedelta(minutes=5, seconds=30)
    dataflow.save()
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert 'role="alert"' in html and "This dataflow stopped exporting." in html
    assert "Kinesis refuses kinesis:PutRecords for this access key." in html
    assert "What happens next:" in html
    assert re.search(r"next attempt <time [^>]*>in 5 minutes</time>", html)
    # It recovers by itself: the banner never asks to enable it again.
    assert "enable it again" not in html
    assert "you do not need to enable the dataflow again" in html
    assert reverse("destinations:edit", args=[dataflow.connection.pk]) in html
    # The code is kept for support, out of the sentence.
    assert "Error code for support: <code>AccessDenied</code>" in html


def test_detail_of_a_delayed_dataflow_says_it_once(logged_in_client, dataflow):
    """The engine's sentence says it all (cause, what is waiting, nothing to do): the
    banner adds only when the next attempt is, never the same thing again."""
    dataflow.failure_count = 2
    dataflow.status_message = (
        "Delivery delayed: Kinesis answered with an internal error; 50 profiles waiting."
        " Retrying automatically, nothing to do."
    )
    dataflow.last_error_code = "TransientError"
    dataflow.retry_at = timezone.now() + dt.timedelta(seconds=150)
    dataflow.save()
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert 'role="status">' in html and html.count("elivery delayed") == 1
    assert html.count("etrying automatically") == 1
    assert re.search(r"Next attempt <time [^>]*>in 2 minutes</time>", html)
    assert "What happens next" not in html


def test_backfill_reasons_read_as_words(logged_in_client, dataflow):
    BackfillFactory(
        dataflow=dataflow,
        reason="segment_added",
        total=5,
        processed=5,
        status="done",
        finished_at=timezone.now(),
    )
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert "(segment added)" in html and "(segment_added)" not in html
    assert "5 of 5 profiles" in html and "segment members" not in html


def test_detail_counts_profiles_and_explains_the_figures(logged_in_client, dataflow):
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert "Profiles activated" in html and "Identities activated" not in html
    assert "calls activated profiles “identities activated”" in html


def test_detail_shows_the_connection_health(logged_in_client, dataflow):
    connection = dataflow.connection
    connection.health = "failing"
    connection.health_message = "The security token included in the request is invalid."
    connection.health_checked_at = timezone.now()
    connection.save()
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert '<span class="status status-failing">Failing</span>' in html
    assert "The security token included in the request is invalid." in html


def test_detail_of_a_teammates_dataflow_is_shared(logged_in_client):
    teammates = DataflowFactory(connection__owner=UserFactory(), name="Teammate flow")
    assert "Teammate flow" in logged_in_client.get(detail_url(teammates)).content.decode()


def test_detail_is_404_for_a_draft(logged_in_client, dataflow):
    dataflow.status = DataflowStatus.DRAFT
    dataflow.save()
    assert logged_in_client.get(detail_url(dataflow)).status_code == 404


# --- backfill progress (live: tests/activation/monitoring/test_live.py) ----------------


def test_progress_counts_the_dataflows_distinct_profiles(logged_in_client, dataflow):
    started = timezone.now() - dt.timedelta(seconds=5)
    BackfillFactory(dataflow=dataflow, total=200, processed=50, started_at=started)
    Dataflow.objects.filter(pk=dataflow.pk).update(
        backfill_total=200, backfill_done=50, backfill_started_at=started
    )
    page = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert 'role="progressbar"' in page and 'aria-valuenow="25"' in page
    assert '<div aria-live="polite">' in page
    assert "50 of 200 profiles" in page and "profiles/s" in page
    assert "Backfill in progress" in page and ">Processing<" in page


# --- run detail ---------------------------------------------------------------------------


@pytest.fixture
def run(dataflow):
    return ExportRunFactory(dataflow=dataflow, window_start=this_hour(1))


def run_url(run, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("activation:run_detail", args=[run.dataflow_id, run.pk]) + (
        f"?{query}" if query else ""
    )


def test_run_lists_excluded_and_failed_profiles_with_reasons(logged_in_client, run):
    RunIssueFactory(
        run=run,
        profile_id=41,
        identity="ecid:777",
        error_code="MissingIdentity",
        reason="The profile has no crmid identity for the partition key.",
    )
    RunIssueFactory(
        run=run,
        profile_id=42,
        kind="failed",
        error_code="InternalFailure",
        reason="Kinesis failed the record after 8 attempts.",
    )
    html = logged_in_client.get(run_url(run)).content.decode()
    assert "The profile has no crmid identity for the partition key." in html
    assert "Kinesis failed the record after 8 attempts." in html
    assert "<code>MissingIdentity</code>" in html and "<code>ecid:777</code>" in html
    assert reverse("activation:delivery_lookup") + "?profile=41" in html


def test_run_search_answers_htmx_with_the_results_only(logged_in_client, run):
    RunIssueFactory(run=run, identity="email:ann@example.com", reason="Ann's reason")
    RunIssueFactory(run=run, identity="email:bob@example.com", reason="Bob's reason")
    response = logged_in_client.get(run_url(run, q="bob"), HTTP_HX_TARGET="issue-results", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="issue-results"')
    assert "Bob&#x27;s reason" in html and "Ann" not in html


def test_run_search_without_matches(logged_in_client, run):
    RunIssueFactory(run=run)
    html = logged_in_client.get(run_url(run, q="nobody")).content.decode()
    assert "No failed or excluded profile matches “nobody”" in html


def test_run_without_issues(logged_in_client, run):
    html = logged_in_client.get(run_url(run)).content.decode()
    assert "No profile failed or was excluded in this run." in html


def test_run_issues_are_paginated(logged_in_client, run):
    RunIssueFactory.create_batch(55, run=run)
    html = logged_in_client.get(run_url(run)).content.decode()
    assert html.count("?profile=") == 50 and "Page 1 of 2" in html


def test_run_records_sent_tab(logged_in_client, run, dataflow):
    DeliveryLogFactory(
        dataflow=dataflow,
        profile_id=5,
        reason="attribute",
        sent_at=run.window_start + dt.timedelta(minutes=3),
        shard_id="shardId-000000000001",
        sequence_number="4960000000042",
    )
    html = logged_in_client.get(run_url(run, view="deliveries")).content.decode()
    assert "shardId-000000000001" in html and "4960000000042" in html
    assert "Mapped attribute written" in html


def test_run_of_another_dataflow_is_404(logged_in_client, run, connection):
    other = DataflowFactory(connection=connection)
    url = reverse("activation:run_detail", args=[other.pk, run.pk])
    assert logged_in_client.get(url).status_code == 404


# --- delivery lookup -----------------------------------------------------------------------


def lookup(client, **params):
    return client.get(reverse("activation:delivery_lookup"), params).content.decode()


def test_lookup_starts_with_an_explanation(logged_in_client):
    assert "Type an identity to see where a profile" in lookup(logged_in_client)


def test_lookup_finds_every_record_sent_for_a_profile(logged_in_client, dataflow):
    identity = IdentityFactory(namespace="email", value="jane@example.com")
    pid = identity.profile_id
    DeliveryLogFactory(
        dataflow=dataflow,
        profile_id=pid,
        reason="backfill",
        shard_id="shardId-000000000003",
        sequence_number="49600000000000111",
    )
    DeliveryLogFactory(dataflow=dataflow, profile_id=pid, reason="segment")
    DeliveryLogFactory(dataflow=dataflow, profile_id=pid + 1)
    html = lookup(logged_in_client, identity="email:jane@example.com")
    assert f"Profile {pid}" in html and "email:jane@example.com" in html
    assert f'href="{reverse("profiles:profile_detail", args=[pid])}"' in html
    assert "shardId-000000000003" in html and "49600000000000111" in html
    assert "Backfill: the segment was activated or re-exported" in html
    assert "Segment membership changed" in html
    assert dataflow.name in html and "acme-events" in html
    assert html.count("<time datetime") == 2


def test_lookup_finds_a_bare_identity_and_lists_candidates(logged_in_client):
    jane = IdentityFactory(namespace="email", value="jane@example.com")
    html = lookup(logged_in_client, identity="Jane@Example.com")
    assert f"Profile {jane.profile_id}" in html and 'aria-invalid="true"' not in html
    IdentityFactory(namespace="crmid", value="C-1")
    IdentityFactory(namespace="ecid", value="C-1")
    html = lookup(logged_in_client, identity="C-1")
    assert "is an identity of 2 profiles; choose one." in html
    assert html.count("?profile=") == 2


def test_lookup_says_when_no_profile_has_the_identity(logged_in_client):
    html = lookup(logged_in_client, identity="email:ghost@example.com")
    assert "No profile has the identity email:ghost@example.com." in html


def test_lookup_of_a_profile_never_exported(logged_in_client):
    IdentityFactory(namespace="email", value="new@example.com")
    html = lookup(logged_in_client, identity="email:new@example.com")
    assert "No record has been sent for profile" in html


def test_lookup_by_profile_id_from_a_run(logged_in_client, dataflow):
    DeliveryLogFactory(dataflow=dataflow, profile_id=99, sequence_number="4960999")
    html = lookup(logged_in_client, profile=99)
    assert "Profile 99" in html and "4960999" in html


# --- actions with confirmation ---------------------------------------------------------------


def test_disable_asks_for_confirmation_then_disables(logged_in_client, dataflow):
    url = reverse("activation:dataflow_disable", args=[dataflow.pk])
    html = logged_in_client.get(url).content.decode()
    assert "Disable “Newsletter to Kinesis”?" in html and "Disable dataflow" in html
    dataflow.refresh_from_db()
    assert dataflow.status == "enabled"
    response = logged_in_client.post(url, follow=True)
    dataflow.refresh_from_db()
    assert dataflow.status == "disabled"
    assert "is disabled" in response.content.decode()


def test_enable_a_dataflow_in_error(logged_in_client, dataflow):
    dataflow.status = "error"
    dataflow.save()
    logged_in_client.post(reverse("activation:dataflow_enable", args=[dataflow.pk]))
    dataflow.refresh_from_db()
    assert dataflow.status == "enabled" and dataflow.status_message == ""


def test_enabling_an_enabled_dataflow_is_refused_with_a_message(logged_in_client, dataflow):
    url = reverse("activation:dataflow_enable", args=[dataflow.pk])
    assert "already enabled" in logged_in_client.get(url).content.decode()
    response = logged_in_client.post(url, follow=True)
    assert "This dataflow is already enabled." in response.content.decode()


def test_delete_is_refused_while_enabled(logged_in_client, dataflow):
    url = reverse("activation:dataflow_delete", args=[dataflow.pk])
    response = logged_in_client.post(url, follow=True)
    assert "Disable the dataflow first" in response.content.decode()
    assert type(dataflow).objects.filter(pk=dataflow.pk).exists()


def test_delete_confirms_then_deletes_and_returns_to_the_list(logged_in_client, dataflow):
    dataflow.status = "disabled"
    dataflow.save()
    url = reverse("activation:dataflow_delete", args=[dataflow.pk])
    assert "Delete dataflow" in logged_in_client.get(url).content.decode()
    response = logged_in_client.post(url)
    assert response["Location"] == reverse("activation:dataflow_list")
    assert not type(dataflow).objects.filter(pk=dataflow.pk).exists()


def test_detail_offers_edit_and_delete_to_marketers(logged_in_client, dataflow):
    dataflow.status = "disabled"
    dataflow.save()
    html = logged_in_client.get(detail_url(dataflow)).content.decode()
    assert f'action="{reverse("activation:wizard_edit", args=[dataflow.pk])}"' in html
    assert reverse("activation:dataflow_delete", args=[dataflow.pk]) in html


def test_replay_confirms_member_count_then_starts_a_backfill(logged_in_client, dataflow):
    mapped = DataflowSegmentFactory(dataflow=dataflow, segment__name="VIPs")
    url = reverse("activation:segment_replay", args=[dataflow.pk, mapped.segment_id])
    html = logged_in_client.get(url).content.decode()
    assert "Re-export “VIPs”?" in html and "Re-export 0 profiles" in html
    assert not Backfill.objects.exists()
    response = logged_in_client.post(url)
    assert response.status_code == 302
    backfill = Backfill.objects.get()
    assert (backfill.segment_id, backfill.reason) == (mapped.segment_id, "replay")


def test_replay_of_a_disabled_dataflow_is_refused(logged_in_client, dataflow):
    dataflow.status = "disabled"
    dataflow.save()
    mapped = DataflowSegmentFactory(dataflow=dataflow)
    url = reverse("activation:segment_replay", args=[dataflow.pk, mapped.segment_id])
    response = logged_in_client.post(url, follow=True)
    assert "Enable the dataflow first" in response.content.decode()
    assert not Backfill.objects.exists()


def test_replay_of_an_unmapped_segment_is_404(logged_in_client, dataflow):
    other = DataflowSegmentFactory()
    url = reverse("activation:segment_replay", args=[dataflow.pk, other.segment_id])
    assert logged_in_client.get(url).status_code == 404


def test_a_viewer_sees_no_actions_and_cannot_post(client, dataflow):
    viewer = UserFactory(role="Viewer")
    dataflow.created_by = viewer
    dataflow.save()
    client.force_login(viewer)
    html = client.get(detail_url(dataflow)).content.decode()
    assert reverse("activation:dataflow_disable", args=[dataflow.pk]) not in html
    response = client.post(reverse("activation:dataflow_disable", args=[dataflow.pk]))
    assert response.status_code == 403
    dataflow.refresh_from_db()
    assert dataflow.status == "enabled"
