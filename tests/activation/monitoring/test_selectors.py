import datetime as dt

import pytest
from django.utils import timezone

from activation.monitoring import selectors as sel
from tests.activation.monitoring.conftest import this_hour
from tests.factories import (
    BackfillFactory,
    DataflowFactory,
    DataflowSegmentFactory,
    DeliveryLogFactory,
    ExportRunFactory,
    RunIssueFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def status_of(user, dataflow) -> str:
    return sel.dataflow_for_user(user=user, dataflow_id=dataflow.pk).display_status


def test_activation_rate_counts_excluded_as_handled():
    assert sel.activation_rate(activated=90, excluded=5, received=100) == 0.95
    assert sel.activation_rate(activated=0, excluded=0, received=0) is None


def test_percent_text_formats_rates():
    assert sel.percent_text(None) == "—"
    assert sel.percent_text(0.9731) == "97.3 %"
    assert sel.percent_text(1.0) == "100 %"
    assert sel.percent_text(0.0004) == "< 0.1 %"


def test_duration_text_is_readable():
    assert sel.duration_text(850) == "850 ms"
    assert sel.duration_text(12_300) == "12.3 s"
    assert sel.duration_text(125_000) == "2 min 5 s"


def test_display_status_is_processing_while_a_backfill_runs(user, dataflow):
    assert status_of(user, dataflow) == "enabled"
    backfill = BackfillFactory(dataflow=dataflow, status="running")
    assert status_of(user, dataflow) == "processing"
    backfill.status = "done"
    backfill.save()
    assert status_of(user, dataflow) == "enabled"


def test_display_status_is_processing_while_a_run_holds_the_lock(user, dataflow):
    dataflow.lock_token = "abc"
    dataflow.locked_until = timezone.now() + dt.timedelta(minutes=1)
    dataflow.save()
    assert status_of(user, dataflow) == "processing"
    dataflow.locked_until = timezone.now() - dt.timedelta(seconds=1)
    dataflow.save()
    assert status_of(user, dataflow) == "enabled"


def test_error_wins_over_processing(user, dataflow):
    dataflow.status = "error"
    dataflow.save()
    BackfillFactory(dataflow=dataflow, status="running")
    assert status_of(user, dataflow) == "error"


def test_a_disabled_dataflow_with_a_paused_backfill_is_disabled(user, dataflow):
    dataflow.status = "disabled"
    dataflow.save()
    BackfillFactory(dataflow=dataflow, status="running")
    assert status_of(user, dataflow) == "disabled"


def test_list_page_filters_by_status_and_destination(user, connection):
    on = DataflowFactory(connection=connection, name="A on")
    broken = DataflowFactory(connection=connection, name="B broken", status="error")
    other = DataflowFactory(connection__owner=user, name="C other")
    DataflowFactory(connection=connection, name="draft", status="draft")
    BackfillFactory(dataflow=other)

    def names(**filters):
        _, rows = sel.dataflow_list_page(user=user, **filters)
        return [row.dataflow.name for row in rows]

    assert names() == ["A on", "B broken", "C other"]
    assert names(status="error") == [broken.name]
    assert names(status="processing") == [other.name]
    assert names(status="enabled") == [on.name]
    assert names(connection_id=connection.pk) == ["A on", "B broken"]


def test_list_page_shows_the_whole_workspace_but_no_drafts(user):
    teammates = DataflowFactory(name="A teammate's")
    DataflowFactory(name="Unfinished", status="draft")
    _, rows = sel.dataflow_list_page(user=user)
    assert [row.dataflow for row in rows] == [teammates]


def test_list_rows_have_segment_count_24h_totals_and_a_trend(user, dataflow):
    DataflowSegmentFactory(dataflow=dataflow)
    DataflowSegmentFactory(dataflow=dataflow)
    ExportRunFactory(
        dataflow=dataflow,
        window_start=this_hour(0),
        profiles_received=10,
        identities_activated=8,
        identities_excluded=1,
        identities_failed=1,
    )
    ExportRunFactory(
        dataflow=dataflow,
        window_start=this_hour(3),
        profiles_received=10,
        identities_activated=10,
        identities_excluded=0,
        identities_failed=0,
    )
    # Older than 24 h: not in the totals.
    ExportRunFactory(dataflow=dataflow, window_start=this_hour(30), profiles_received=1000)
    _, [row] = sel.dataflow_list_page(user=user)
    assert row.dataflow.segment_count == 2
    assert row.totals.received == 20
    assert row.totals.activation_rate_text == "95.0 %"
    assert "<polyline" in row.sparkline and "spark-failed" in row.sparkline
    assert "18 activated, 1 failed" in row.sparkline


def test_runs_are_limited_to_the_period_and_filter_failures(dataflow):
    now = timezone.now()
    ok = ExportRunFactory(
        dataflow=dataflow, window_start=this_hour(1), identities_failed=0, status="success"
    )
    failing = ExportRunFactory(dataflow=dataflow, window_start=this_hour(2), identities_failed=3)
    week_old = ExportRunFactory(
        dataflow=dataflow, window_start=this_hour(24 * 5), identities_failed=0, status="success"
    )
    ExportRunFactory(dataflow=dataflow, window_start=this_hour(24 * 40))
    day, week, month = sel.PERIODS["24h"], sel.PERIODS["7d"], sel.PERIODS["30d"]
    assert list(sel.dataflow_runs(dataflow=dataflow, period=day, now=now)) == [ok, failing]
    assert list(sel.dataflow_runs(dataflow=dataflow, period=week, now=now)) == [
        ok,
        failing,
        week_old,
    ]
    assert sel.dataflow_runs(dataflow=dataflow, period=month, now=now).count() == 3
    assert list(sel.dataflow_runs(dataflow=dataflow, period=week, failures_only=True, now=now)) == [
        failing
    ]


def test_run_chart_fills_every_bucket_and_sums_per_day(dataflow):
    now = timezone.now()
    ExportRunFactory(
        dataflow=dataflow, window_start=this_hour(0), identities_activated=5, identities_failed=2
    )
    chart = sel.dataflow_run_chart(dataflow=dataflow, period=sel.PERIODS["24h"], now=now)
    assert len(chart.labels) == 24
    assert chart.activated[-1] == 5 and chart.failed[-1] == 2
    assert sum(chart.activated) == 5
    assert "<svg" in chart.svg and "activated 5" in chart.svg

    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    ExportRunFactory(
        dataflow=dataflow,
        window_start=day_start - dt.timedelta(days=2, hours=-1),
        identities_activated=7,
        identities_failed=0,
    )
    ExportRunFactory(
        dataflow=dataflow,
        window_start=day_start - dt.timedelta(days=2, hours=-2),
        identities_activated=3,
        identities_failed=1,
    )
    month = sel.dataflow_run_chart(dataflow=dataflow, period=sel.PERIODS["30d"], now=now)
    assert len(month.labels) == 30
    assert month.activated[-3] == 10 and month.failed[-3] == 1
    assert month.totals.activated == 15


def test_an_empty_chart_still_renders(dataflow):
    chart = sel.dataflow_run_chart(dataflow=dataflow, period=sel.PERIODS["7d"], now=timezone.now())
    assert len(chart.labels) == 168 and not any(chart.activated)
    assert chart.totals.activation_rate_text == "—"


def test_backfill_progress_counts_distinct_profiles_with_rate_and_eta(dataflow):
    now = timezone.now()
    started = now - dt.timedelta(seconds=10)
    BackfillFactory(dataflow=dataflow, total=100, processed=50, started_at=started)
    BackfillFactory(dataflow=dataflow, total=300, processed=50, started_at=started)
    # The two segments overlap: 320 distinct profiles, 100 of them done (the engine's
    # dataflow-level counters), not the 400 memberships the rows add up to.
    dataflow.backfill_total, dataflow.backfill_done = 320, 100
    dataflow.backfill_started_at = started
    progress = sel.dataflow_backfill_progress(dataflow=dataflow, now=now)
    assert progress.active
    assert (progress.processed, progress.total, progress.percent) == (100, 320, 31)
    assert [(r.backfill.processed, r.backfill.total) for r in progress.rows] == [
        (50, 100),
        (50, 300),
    ]
    assert progress.rate == pytest.approx(10.0)
    assert progress.eta_seconds == pytest.approx(22.0)
    assert progress.rate_text == "10 profiles/s"
    assert progress.rows[0].reason_text == "dataflow activated"


def test_finished_backfills_show_as_done_and_stop_being_active(dataflow):
    now = timezone.now()
    dataflow.backfill_total = dataflow.backfill_done = 10
    BackfillFactory(
        dataflow=dataflow,
        status="done",
        total=10,
        processed=10,
        finished_at=now - dt.timedelta(minutes=1),
    )
    progress = sel.dataflow_backfill_progress(dataflow=dataflow, now=now)
    assert not progress.active and progress.percent == 100
    assert [r.percent for r in progress.rows] == [100]


def test_no_backfill_means_no_progress_rows(dataflow):
    progress = sel.dataflow_backfill_progress(dataflow=dataflow, now=timezone.now())
    assert progress.rows == [] and not progress.active


def test_run_issues_search_identity_code_reason_and_profile_id():
    run = ExportRunFactory()
    a = RunIssueFactory(
        run=run,
        profile_id=11,
        identity="email:ann@example.com",
        error_code="MissingPartitionKey",
        reason="no ecid",
    )
    b = RunIssueFactory(
        run=run,
        profile_id=22,
        identity="email:bob@example.com",
        kind="failed",
        error_code="InternalFailure",
        reason="Kinesis failed the record",
    )
    RunIssueFactory()  # another run's
    assert set(sel.run_issues(run=run)) == {a, b}
    assert list(sel.run_issues(run=run, query="ann@")) == [a]
    assert list(sel.run_issues(run=run, query="internalfail")) == [b]
    assert list(sel.run_issues(run=run, query="no ecid")) == [a]
    assert list(sel.run_issues(run=run, query="22")) == [b]
    assert list(sel.run_issues(run=run, kind="failed")) == [b]
    summary = sel.run_issue_summary(run=run)
    assert {(s["kind"], s["error_code"], s["profiles"]) for s in summary} == {
        ("excluded", "MissingPartitionKey", 1),
        ("failed", "InternalFailure", 1),
    }


def test_run_deliveries_are_those_sent_in_the_runs_hour(dataflow):
    run = ExportRunFactory(dataflow=dataflow, window_start=this_hour(2))
    inside = DeliveryLogFactory(dataflow=dataflow, sent_at=this_hour(2) + dt.timedelta(minutes=5))
    DeliveryLogFactory(dataflow=dataflow, sent_at=this_hour(1))
    DeliveryLogFactory(sent_at=this_hour(2) + dt.timedelta(minutes=5))  # another dataflow
    assert list(sel.run_deliveries(run=run)) == [inside]


def test_profile_deliveries_from_every_dataflow_or_the_one_asked(user, dataflow):
    mine = DeliveryLogFactory(dataflow=dataflow, profile_id=7)
    teammates = DeliveryLogFactory(
        dataflow=DataflowFactory(connection__owner=UserFactory()), profile_id=7
    )
    assert set(sel.profile_deliveries(user=user, profile_id=7)) == {mine, teammates}
    assert list(sel.profile_deliveries(user=user, profile_id=7, dataflow_id=dataflow.pk)) == [mine]
    assert (
        list(sel.profile_deliveries(user=user, profile_id=7, dataflow_id=dataflow.pk + 999)) == []
    )


def test_delivery_reason_text():
    assert sel.DeliveryRow(DeliveryLogFactory.build(reason="identity")).reason_text == (
        "Identity map changed"
    )
    assert sel.DeliveryRow(DeliveryLogFactory.build(reason="segment_added")).reason_text == (
        "Segment added"
    )
