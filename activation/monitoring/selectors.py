"""Reads for the monitoring pages: dataflow status, runs, backfills, issues, deliveries.

Every page reads a bounded number of rows with a constant number of queries,
whatever the history's size: lists are paginated, charts and sparklines are
aggregated in the database over the indexed (dataflow, window_start) and
(dataflow, sent_at) columns.
"""

import datetime as dt
import functools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db import connection as db
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Trunc
from django.utils import dateformat, timezone
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from activation.export.services import RETENTION_BACKFILL, RETENTION_BACKFILL_TEXT
from activation.models import (
    Backfill,
    BackfillStatus,
    Dataflow,
    DataflowSegment,
    DataflowStatus,
    DeliveryLog,
    ExportRun,
    RunIssue,
    RunIssueKind,
    RunStatus,
)
from activation.monitoring.charts import Series, sparkline_svg, timeseries_svg
from activation.selectors import humanize_seconds
from core.i18n import format_decimal, format_integer
from core.input_policy import parse_id
from core.live import live_version
from destinations.models import Connection

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RUNS_PER_PAGE = 25
ISSUES_PER_PAGE = 50
DELIVERIES_PER_PAGE = 50
DATAFLOWS_PER_PAGE = 25
# Above this share of excluded identities in a run window, the run is flagged and
# marketers are alerted (alerts/checks.py).
EXCLUDED_RATE_THRESHOLD = 0.01
ACTIVE_BACKFILL = (BackfillStatus.PENDING, BackfillStatus.RUNNING)


@dataclass(frozen=True)
class Period:
    key: str
    label: "StrOrPromise"  # lazy: translated when shown
    hours: int
    bucket: str  # "hour" or "day": the chart's resolution

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(hours=self.hours)

    def start(self, now: dt.datetime) -> dt.datetime:
        """The first bucket's start: whole hours (or days) so buckets line up with runs."""
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self.bucket == "day":
            day = hour.replace(hour=0)
            return day - dt.timedelta(days=self.hours // 24 - 1)
        return hour - dt.timedelta(hours=self.hours - 1)


PERIODS = {
    "24h": Period("24h", _("Last 24 hours"), 24, "hour"),
    "7d": Period("7d", _("Last 7 days"), 24 * 7, "hour"),
    "30d": Period("30d", _("Last 30 days"), 24 * 30, "day"),
}
DEFAULT_PERIOD = "24h"

DISPLAY_STATUSES = {
    "enabled": "Enabled",
    "disabled": "Disabled",
    "processing": "Processing",
    "error": "Error",
}


def activation_rate(*, activated: int, excluded: int, received: int) -> float | None:
    """(activated + excluded) / received, the reference's activation rate; None without data."""
    if not received:
        return None
    return min(1.0, (activated + excluded) / received)


def excluded_rate(*, excluded: int, received: int) -> float | None:
    if not received:
        return None
    return excluded / received


def percent_text(rate: float | None) -> str:
    """0.9731 → "97.3 %" ("97,3 %" in Swedish); no data → "—"."""
    if rate is None:
        return "—"
    value = rate * 100
    if value >= 100:
        return "100 %"
    if value >= 0.1 or value == 0:
        return f"{format_decimal(value, 1)} %"
    return f"< {format_decimal(0.1, 1)} %"


def duration_text(milliseconds: int) -> str:
    # SI unit symbols read the same in every supported language; decimals do not.
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{format_decimal(seconds, 1)} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@dataclass
class Totals:
    received: int = 0
    activated: int = 0
    excluded: int = 0
    failed: int = 0

    def add(self, *, received: int, activated: int, excluded: int, failed: int) -> None:
        self.received += received
        self.activated += activated
        self.excluded += excluded
        self.failed += failed

    @property
    def activation_rate(self) -> float | None:
        return activation_rate(
            activated=self.activated, excluded=self.excluded, received=self.received
        )

    @property
    def activation_rate_text(self) -> str:
        return percent_text(self.activation_rate)

    @property
    def excluded_rate(self) -> float | None:
        return excluded_rate(excluded=self.excluded, received=self.received)


@dataclass(frozen=True)
class RunRow:
    """A run with what the runs table shows about it."""

    run: ExportRun

    @property
    def activation_rate_text(self) -> str:
        return percent_text(
            activation_rate(
                activated=self.run.identities_activated,
                excluded=self.run.identities_excluded,
                received=self.run.profiles_received,
            )
        )

    @property
    def duration_text(self) -> str:
        return duration_text(self.run.processing_ms)

    @property
    def excluded_above_threshold(self) -> bool:
        rate = excluded_rate(
            excluded=self.run.identities_excluded, received=self.run.profiles_received
        )
        return rate is not None and rate > EXCLUDED_RATE_THRESHOLD

    @property
    def has_issues(self) -> bool:
        return bool(self.run.identities_excluded or self.run.identities_failed)

    # Numbers formatted here, in the active language, not with |intcomma in the
    # template: a page shows hundreds of them.
    @property
    def received(self) -> str:
        return format_integer(self.run.profiles_received)

    @property
    def activated(self) -> str:
        return format_integer(self.run.identities_activated)

    @property
    def excluded(self) -> str:
        return format_integer(self.run.identities_excluded)

    @property
    def failed(self) -> str:
        return format_integer(self.run.identities_failed)

    @property
    def retried_text(self) -> str:
        """ "3 delivered after retries" (of the activated), or "" when none needed any."""
        count = self.run.delivered_after_retries
        if not count:
            return ""
        return ngettext(
            "%(count)s delivered after retries", "%(count)s delivered after retries", count
        ) % {"count": format_integer(count)}


# --- status -----------------------------------------------------------------------


def with_display_status(dataflows: QuerySet[Dataflow], *, now: dt.datetime) -> QuerySet[Dataflow]:
    """Annotate `display_status`: Error wins, then Processing (a backfill waiting or
    running, or a run holding the export lock), else the stored status."""
    active_backfill = Exists(
        Backfill.objects.filter(dataflow=OuterRef("pk"), status__in=ACTIVE_BACKFILL)
    )
    lock_held = Q(lock_token__gt="", locked_until__gt=now)
    return dataflows.annotate(
        has_active_backfill=active_backfill,
        display_status=Case(
            When(status=DataflowStatus.ERROR, then=Value("error")),
            When(
                Q(status=DataflowStatus.ENABLED) & (Q(has_active_backfill=True) | lock_held),
                then=Value("processing"),
            ),
            default=F("status"),
            output_field=CharField(),
        ),
    )


def monitored_dataflows(*, user: Any) -> QuerySet[Dataflow]:
    """The workspace's finished dataflows (wizard drafts and edit copies are not monitored).

    The workspace is shared: every signed-in user reads every dataflow; roles decide
    writes. `user` stays in the signature for the day workspaces get tenants.
    """
    return Dataflow.objects.live()


# --- the dataflows page -------------------------------------------------------------


@dataclass
class DataflowRow:
    dataflow: Dataflow
    totals: Totals
    sparkline: str


def dataflow_list_page(
    *, user: Any, status: str = "", connection_id: int | None = None, page: Any = 1
) -> tuple[Page, list[DataflowRow]]:
    """One page of the user's dataflows with 24 h totals and an hourly trend (3 queries)."""
    now = timezone.now()
    segment_count = (
        DataflowSegment.objects.filter(dataflow=OuterRef("pk"))
        .order_by()
        .values("dataflow")
        .annotate(n=Count("id"))
        .values("n")
    )
    dataflows = (
        with_display_status(monitored_dataflows(user=user).select_related("connection"), now=now)
        .annotate(segment_count=Coalesce(Subquery(segment_count, output_field=IntegerField()), 0))
        .order_by("name", "id")
    )
    if status in DISPLAY_STATUSES:
        dataflows = dataflows.filter(display_status=status)
    if connection_id:
        dataflows = dataflows.filter(connection_id=connection_id)
    page_obj = Paginator(dataflows, DATAFLOWS_PER_PAGE).get_page(page)
    return page_obj, _rows_with_trend(list(page_obj.object_list), now=now)


def _rows_with_trend(dataflows: list[Dataflow], *, now: dt.datetime) -> list[DataflowRow]:
    period = PERIODS["24h"]
    start = period.start(now)
    hours = [start + dt.timedelta(hours=i) for i in range(period.hours)]
    activated: dict[int, dict] = defaultdict(dict)
    failed: dict[int, dict] = defaultdict(dict)
    totals: dict[int, Totals] = defaultdict(Totals)
    runs = ExportRun.objects.filter(
        dataflow_id__in=[d.pk for d in dataflows], window_start__gte=start
    ).values_list(
        "dataflow_id",
        "window_start",
        "profiles_received",
        "identities_activated",
        "identities_excluded",
        "identities_failed",
    )
    for dataflow_id, window, received, act, exc, fail in runs if dataflows else []:
        hour = window.replace(minute=0, second=0, microsecond=0)
        activated[dataflow_id][hour] = activated[dataflow_id].get(hour, 0) + act
        failed[dataflow_id][hour] = failed[dataflow_id].get(hour, 0) + fail
        totals[dataflow_id].add(received=received, activated=act, excluded=exc, failed=fail)
    return [
        DataflowRow(
            dataflow=d,
            totals=totals[d.pk],
            sparkline=sparkline_svg(
                values=[activated[d.pk].get(h, 0) for h in hours],
                failed=[failed[d.pk].get(h, 0) for h in hours],
                label=gettext("%(name)s, last 24 hours") % {"name": d.name},
            ),
        )
        for d in dataflows
    ]


def connections_with_dataflows(*, user: Any) -> QuerySet[Connection]:
    """Destinations to filter the dataflows page by."""
    return (
        Connection.objects.filter(dataflows__in=monitored_dataflows(user=user))
        .distinct()
        .order_by("name")
    )


# --- a dataflow ------------------------------------------------------------------------


def dataflow_for_user(*, user: Any, dataflow_id: int) -> Dataflow | None:
    dataflows = with_display_status(
        monitored_dataflows(user=user).select_related("connection"), now=timezone.now()
    )
    return dataflows.filter(pk=dataflow_id).first()


@dataclass
class ActivationData:
    segments: list[DataflowSegment]
    attributes: list[Any]
    identities: list[Any]


def dataflow_activation_data(*, dataflow: Dataflow) -> ActivationData:
    return ActivationData(
        segments=list(dataflow.mapped_segments.select_related("segment").order_by("segment__name")),
        attributes=list(dataflow.attribute_mappings.all()),
        identities=list(dataflow.identity_selections.all()),
    )


def dataflow_runs(
    *, dataflow: Dataflow, period: Period, failures_only: bool = False, now: dt.datetime
) -> QuerySet[ExportRun]:
    runs = ExportRun.objects.filter(dataflow=dataflow, window_start__gte=period.start(now))
    if failures_only:
        runs = runs.filter(
            Q(identities_failed__gt=0) | Q(status__in=[RunStatus.FAILED, RunStatus.PARTIAL])
        )
    return runs.order_by("-window_start")


@dataclass
class RunChart:
    labels: list[str]
    activated: list[int]
    excluded: list[int]
    failed: list[int]
    svg: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)


def dataflow_run_chart(*, dataflow: Dataflow, period: Period, now: dt.datetime) -> RunChart:
    """Activated, excluded and failed per bucket over the period (one aggregate query)."""
    start = period.start(now)
    rows = (
        ExportRun.objects.filter(dataflow=dataflow, window_start__gte=start)
        .annotate(bucket=Trunc("window_start", period.bucket, tzinfo=dt.UTC))
        .order_by()
        .values("bucket")
        .annotate(
            received=Sum("profiles_received"),
            activated=Sum("identities_activated"),
            excluded=Sum("identities_excluded"),
            failed=Sum("identities_failed"),
        )
    )
    by_bucket = {row["bucket"]: row for row in rows}
    step = dt.timedelta(days=1) if period.bucket == "day" else dt.timedelta(hours=1)
    count = period.hours // 24 if period.bucket == "day" else period.hours
    buckets = [start + step * i for i in range(count)]
    # Django's date formats: day and month names in the reader's language.
    fmt = {"24h": "H:00", "7d": "D H:00", "30d": "d M"}[period.key]
    labels = [dateformat.format(b, fmt) for b in buckets]
    empty = {"received": 0, "activated": 0, "excluded": 0, "failed": 0}
    values = [by_bucket.get(b, empty) for b in buckets]
    activated = [v["activated"] or 0 for v in values]
    excluded = [v["excluded"] or 0 for v in values]
    failed = [v["failed"] or 0 for v in values]
    totals = Totals()
    for v in values:
        totals.add(
            received=v["received"] or 0,
            activated=v["activated"] or 0,
            excluded=v["excluded"] or 0,
            failed=v["failed"] or 0,
        )
    svg = timeseries_svg(
        chart_id=f"runs-chart-{dataflow.pk}",
        title=gettext("Profiles activated, excluded and failed, %(period)s")
        % {"period": str(period.label).lower()},
        labels=labels,
        series=[
            Series(pgettext("chart series", "Activated"), activated, "chart-activated"),
            Series(pgettext("chart series", "Excluded"), excluded, "chart-excluded"),
            Series(pgettext("chart series", "Failed"), failed, "chart-failed"),
        ],
    )
    row_format = "%Y-%m-%d %H:00" if period.bucket == "hour" else "%Y-%m-%d"
    full_labels = [b.strftime(row_format) for b in buckets]
    return RunChart(
        labels=labels,
        activated=activated,
        excluded=excluded,
        failed=failed,
        svg=svg,
        rows=[
            (label, format_integer(a), format_integer(e), format_integer(f))
            for label, a, e, f in zip(full_labels, activated, excluded, failed, strict=True)
        ],
        totals=totals,
    )


# --- backfills ------------------------------------------------------------------------------


def _percent(*, processed: int, total: int, done: bool) -> int:
    if not total:
        return 100 if done else 0
    return min(100, processed * 100 // total)


def backfill_rate(backfill: Backfill, *, now: dt.datetime) -> float | None:
    """Profiles per second since the backfill started (until it finished)."""
    if not backfill.started_at or not backfill.processed:
        return None
    seconds = ((backfill.finished_at or now) - backfill.started_at).total_seconds()
    return backfill.processed / max(seconds, 0.001)


# Why a backfill runs (Backfill.reason), as the marketer reads it.
BACKFILL_REASONS = {
    "activation": _("dataflow activated"),
    "segment_added": _("segment added"),
    "replay": _("re-export requested"),
    RETENTION_BACKFILL: _("re-export after a long pause"),
}
# The longer explanation a backfill reason needs, shown beside it.
BACKFILL_REASON_HELP = {RETENTION_BACKFILL: RETENTION_BACKFILL_TEXT}


@dataclass
class BackfillRow:
    """One segment's part (its own members; the headline counts distinct profiles)."""

    backfill: Backfill
    percent: int
    rate: float | None

    @property
    def reason_text(self) -> str:
        reason = self.backfill.reason
        return str(BACKFILL_REASONS.get(reason, reason.replace("_", " ")))

    @property
    def reason_help(self) -> str:
        return str(BACKFILL_REASON_HELP.get(self.backfill.reason, ""))


@dataclass
class BackfillProgress:
    """The dataflow's backfill in distinct profiles (a profile in two segments once):
    the unit of the review and the KPIs."""

    rows: list[BackfillRow]
    total: int
    processed: int
    active: bool
    rate: float | None  # profiles per second, all running backfills together
    eta_seconds: float | None

    @property
    def percent(self) -> int:
        return _percent(processed=self.processed, total=self.total, done=not self.active)

    @property
    def rate_text(self) -> str:
        if not self.rate:
            return ""
        return gettext("%(rate)s profiles/s") % {"rate": format_integer(round(self.rate))}

    @property
    def eta_text(self) -> str:
        if self.eta_seconds is None:
            return ""
        return humanize_seconds(self.eta_seconds)


# Backfills started together (one activation or one edit) are shown together.
BACKFILL_BATCH = dt.timedelta(minutes=5)


def dataflow_backfill_progress(
    *, dataflow: Dataflow, now: dt.datetime, recent: dt.timedelta = dt.timedelta(hours=24)
) -> BackfillProgress:
    """The active backfills, else the last batch that finished recently (one query)."""
    backfills = list(
        Backfill.objects.filter(dataflow=dataflow)
        .filter(Q(status__in=ACTIVE_BACKFILL) | Q(finished_at__gte=now - recent))
        .select_related("segment")
        .order_by("-created_at", "-id")[:20]
    )
    active = [b for b in backfills if b.status in ACTIVE_BACKFILL]
    if active:
        shown = active
    else:
        shown = [b for b in backfills if b.created_at >= backfills[0].created_at - BACKFILL_BATCH]
    shown.sort(key=lambda b: (b.created_at, b.pk))
    rows = [
        BackfillRow(
            backfill=b,
            percent=_percent(
                processed=b.processed, total=b.total, done=b.status == BackfillStatus.DONE
            ),
            rate=backfill_rate(b, now=now),
        )
        for b in shown
    ]
    total = dataflow.backfill_total if shown else 0
    processed = min(dataflow.backfill_done, total)
    rate = None
    if dataflow.backfill_started_at and processed:
        ended = now if active else max((b.finished_at or now) for b in shown)
        rate = processed / max((ended - dataflow.backfill_started_at).total_seconds(), 0.001)
    eta = (total - processed) / rate if rate and active and total > processed else None
    return BackfillProgress(
        rows=rows,
        total=total,
        processed=processed,
        active=bool(active),
        rate=rate,
        eta_seconds=eta,
    )


# --- a run ------------------------------------------------------------------------------


def run_for_user(*, user: Any, dataflow_id: int, run_id: int) -> ExportRun | None:
    return (
        ExportRun.objects.filter(
            pk=run_id, dataflow_id=dataflow_id, dataflow__in=monitored_dataflows(user=user)
        )
        .select_related("dataflow", "dataflow__connection")
        .first()
    )


def run_issues(*, run: ExportRun, kind: str = "", query: str = "") -> QuerySet[RunIssue]:
    """A run's excluded and failed profiles, searchable by identity, profile id, code or reason."""
    issues = RunIssue.objects.filter(run=run)
    if kind in RunIssueKind.values:
        issues = issues.filter(kind=kind)
    query = query.strip()
    if query:
        match = (
            Q(identity__icontains=query)
            | Q(error_code__icontains=query)
            | Q(reason__icontains=query)
        )
        if (profile_id := parse_id(query)) is not None:
            match |= Q(profile_id=profile_id)
        issues = issues.filter(match)
    return issues.order_by("-id")


def run_issue_summary(*, run: ExportRun) -> list[dict]:
    """How many distinct profiles each (kind, error code) accounts for, most frequent
    first, with one of its reasons in words (the code is for support)."""
    return list(
        RunIssue.objects.filter(run=run)
        .order_by()
        .values("kind", "error_code")
        .annotate(profiles=Count("profile_id", distinct=True), reason=Min("reason"))
        .order_by("-profiles", "error_code")[:20]
    )


def run_deliveries(*, run: ExportRun) -> QuerySet[DeliveryLog]:
    """Records put into the stream during the run's hour (the (dataflow, sent_at) index)."""
    end = run.window_start + dt.timedelta(hours=1)
    return DeliveryLog.objects.filter(
        dataflow_id=run.dataflow_id, sent_at__gte=run.window_start, sent_at__lt=end
    ).order_by("-sent_at", "-id")


# Why a record was sent (DeliveryLog.reason), as the marketer reads it.
DELIVERY_REASONS = {
    "backfill": _("Backfill: the segment was activated or re-exported"),
    "replay": _("Re-export of the segment's current members"),
    "segment": _("Segment membership changed"),
    "identity": _("Identity map changed"),
    "attribute": _("Mapped attribute written"),
}


@dataclass(frozen=True)
class DeliveryRow:
    delivery: DeliveryLog

    @property
    def reason_text(self) -> str:
        reason = self.delivery.reason
        return str(DELIVERY_REASONS.get(reason, reason.replace("_", " ").capitalize()))


def delivery_rows(deliveries: Any) -> list[DeliveryRow]:
    return [DeliveryRow(d) for d in deliveries]


# --- delivery lookup ----------------------------------------------------------------------------


def profile_deliveries(
    *, user: Any, profile_id: int, dataflow_id: int | None = None
) -> QuerySet[DeliveryLog]:
    """Every record sent for a profile to the user's dataflows, newest first."""
    deliveries = DeliveryLog.objects.filter(
        profile_id=profile_id, dataflow__in=monitored_dataflows(user=user)
    )
    if dataflow_id:
        deliveries = deliveries.filter(dataflow_id=dataflow_id)
    return deliveries.select_related("dataflow", "dataflow__connection").order_by("-sent_at", "-id")


def dataflow_open_alerts(*, dataflow: Dataflow) -> list[Any]:
    alerts = _open_alerts_about(dataflow=dataflow, connection_id=dataflow.connection_id)
    return list(alerts.order_by("-created_at")[:5])


def segment_for_replay(*, dataflow: Dataflow, segment_id: uuid.UUID) -> DataflowSegment | None:
    return (
        DataflowSegment.objects.filter(dataflow=dataflow, segment_id=segment_id)
        .select_related("segment")
        .first()
    )


# --- live versions (core/live.py): what an open page polls ----------------------------------
#
# An open page asks every 1.5 s, so these run far more often than any page: each is one
# precompiled SQL statement of indexed lookups and small aggregates (the ORM would spend
# more time compiling the subqueries than the database spends answering them).


def _live_sql(alias: str) -> str:
    """`Dataflow.objects.live()` in this SQL: row `alias` is neither a draft nor an edit copy."""
    return f"{alias}.status <> %(draft)s AND {alias}.edit_of_id IS NULL"


@functools.cache
def _dataflow_version_sql() -> str:
    """Everything the dataflow page shows moves one of these: the dataflow's state
    columns, its connection's health, the newest run (every export touches its
    last_activity_at; an older window only changes with an export, which moves the
    dataflow's last_activity_at), its backfills and the open alerts about it."""
    from alerts.models import Alert

    runs = f"FROM {ExportRun._meta.db_table} r WHERE r.dataflow_id = d.id"
    newest = f"{runs} ORDER BY r.window_start DESC LIMIT 1"
    backfills = f"FROM {Backfill._meta.db_table} b WHERE b.dataflow_id = d.id"
    alerts = (
        f"FROM {Alert._meta.db_table} a WHERE a.resolved_at IS NULL AND (a.dataflow_id = d.id"
        " OR (a.connection_id = d.connection_id AND a.dataflow_id IS NULL))"
    )
    # Every column of the dataflow (the page may show any: status, message, backfill
    # counters, …) but those the export machinery moves without the page changing.
    return f"""
        SELECT d.*,
               CASE WHEN d.lock_token <> '' AND d.locked_until > %(now)s THEN 1 ELSE 0 END
                 AS v_locked,
               c.health AS v_health, c.health_message AS v_health_message,
               c.health_checked_at AS v_health_checked_at,
               (SELECT r.id {newest}) AS v_run, (SELECT r.last_activity_at {newest}) AS v_run_at,
               (SELECT r.status {newest}) AS v_run_status,
               (SELECT COUNT(*) {backfills} AND b.status IN (%(pending)s, %(running)s))
                 AS v_backfills,
               (SELECT SUM(b.processed) {backfills}) AS v_backfill_done,
               (SELECT MAX(b.id) {backfills}) AS v_backfill_newest,
               (SELECT MAX(b.finished_at) {backfills}) AS v_backfill_finished,
               (SELECT COUNT(*) {alerts}) AS v_alerts,
               (SELECT MAX(a.last_seen_at) {alerts}) AS v_alerts_seen
        FROM {Dataflow._meta.db_table} d
        LEFT JOIN {Connection._meta.db_table} c ON c.id = d.connection_id
        WHERE d.id = %(dataflow)s AND {_live_sql("d")}
    """


# Dataflow columns the export machinery moves without the page showing anything new
# (the change cursor, the run lock's token and lease, the run queue's markers).
_UNSHOWN_DATAFLOW_COLUMNS = frozenset(
    {
        "cursor_txid",
        "cursor_change_id",
        "lock_token",
        "locked_until",
        "run_scheduled_for",
        "last_run_at",
    }
)


def _fetch_version_row(sql: str, **params: Any) -> tuple | None:
    now = db.ops.adapt_datetimefield_value(timezone.now())
    params = {
        "now": now,
        "draft": DataflowStatus.DRAFT.value,
        "error": DataflowStatus.ERROR.value,
        "disabled": DataflowStatus.DISABLED.value,
        "pending": BackfillStatus.PENDING.value,
        "running": BackfillStatus.RUNNING.value,
        **params,
    }
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    if row is None:
        return None
    return tuple(
        v for name, v in zip(names, row, strict=True) if name not in _UNSHOWN_DATAFLOW_COLUMNS
    )


def dataflow_page_version(*, dataflow_id: int) -> str | None:
    """The dataflow page's live version, in one query (None: no such dataflow)."""
    row = _fetch_version_row(_dataflow_version_sql(), dataflow=dataflow_id)
    return None if row is None else live_version(row)


@functools.cache
def _dataflows_version_sql(*, one_connection: bool) -> str:
    """What a list of dataflows shows, summed up; with one_connection, also that
    connection's health and open alerts, else every connection's health."""
    from alerts.models import Alert

    def of_connection(alias: str) -> str:
        return f" AND {alias}.connection_id = %(connection)s" if one_connection else ""

    dataflows = f"{Dataflow._meta.db_table} d WHERE {_live_sql('d')}" + of_connection("d")
    backfills = (
        f"FROM {Backfill._meta.db_table} b JOIN {Dataflow._meta.db_table} bd"
        f" ON bd.id = b.dataflow_id WHERE {_live_sql('bd')}"
        " AND b.status IN (%(pending)s, %(running)s)" + of_connection("bd")
    )
    connections = f"FROM {Connection._meta.db_table} c"
    if one_connection:
        connections += " WHERE c.id = %(connection)s"
    alerts = (
        f"FROM {Alert._meta.db_table} a WHERE a.resolved_at IS NULL"
        " AND a.connection_id = %(connection)s AND a.dataflow_id IS NULL"
    )
    about_connection = "0, 0, 0"
    if one_connection:
        about_connection = (
            f"(SELECT MAX(c.health_message) {connections}),"
            f" (SELECT COUNT(*) {alerts}), (SELECT MAX(a.last_seen_at) {alerts})"
        )
    return f"""
        SELECT COUNT(*), SUM(d.id), MAX(d.last_activity_at), MAX(d.updated_at),
               SUM(d.failure_count), MAX(d.retry_at),
               SUM(CASE WHEN d.status = %(error)s THEN 1 ELSE 0 END),
               SUM(CASE WHEN d.status = %(disabled)s THEN 1 ELSE 0 END),
               SUM(CASE WHEN d.lock_token <> '' AND d.locked_until > %(now)s THEN 1 ELSE 0 END),
               (SELECT COUNT(*) {backfills}), (SELECT MAX(b.id) {backfills}),
               (SELECT COUNT(*) {connections}), (SELECT MAX(c.health_checked_at) {connections}),
               (SELECT SUM(CASE WHEN c.health = 'failing' THEN 1 ELSE 0 END) {connections}),
               (SELECT SUM(CASE WHEN c.health = 'healthy' THEN 1 ELSE 0 END) {connections}),
               {about_connection}
        FROM {dataflows}
    """


def dataflow_list_version(*, user: Any) -> str:
    """The dataflows page's live version: every monitored dataflow and connection
    (one query; the workspace is shared, see monitored_dataflows)."""
    return live_version(_fetch_version_row(_dataflows_version_sql(one_connection=False)))


def connection_page_version(*, connection_id: int) -> str:
    """The destination page's live version: its health, its dataflows' state and the
    open alerts about it (one query)."""
    sql = _dataflows_version_sql(one_connection=True)
    return live_version(_fetch_version_row(sql, connection=connection_id))


def connection_live_context(*, connection: Connection) -> dict[str, Any]:
    """The destination page's live part (its first render and every changed poll)."""
    return {
        "connection_live_version": connection_page_version(connection_id=connection.pk),
        "connection_dataflows": connection_dataflows(connection_id=connection.pk),
    }


def connection_dataflows(*, connection_id: int) -> list[Dataflow]:
    """The dataflows exporting to a connection, with their display status."""
    dataflows = monitored_dataflows(user=None).filter(connection_id=connection_id)
    return list(with_display_status(dataflows, now=timezone.now()).order_by("name", "id"))


def _open_alerts_about(*, dataflow: Dataflow, connection_id: int | None) -> QuerySet:
    """Open alerts about a dataflow, or about its connection as a whole."""
    from alerts.models import Alert

    about = Q(dataflow=dataflow) | Q(connection_id=connection_id, dataflow__isnull=True)
    return Alert.objects.filter(about, resolved_at__isnull=True)
