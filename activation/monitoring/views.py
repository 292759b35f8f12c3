"""Monitoring pages: thin views over activation.monitoring.selectors.

Each page serves its full HTML and, for htmx requests, just the partial that
changed (django-template-partials' `{% partialdef %}`).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from activation import services
from activation.export.services import backfill_start
from activation.models import Dataflow, DataflowStatus, DeliveryLog, RunIssueKind
from activation.monitoring import inspector
from activation.monitoring import selectors as sel
from activation.selectors import edit_lock, segment_sizes
from activation.services import DataflowError
from audit.selectors import segment_deletions
from core.input_policy import parse_id
from core.live import VERSION_PARAM, live_response
from core.roles import editor_required
from destinations.models import Connection
from governance.selectors import dataflow_governance
from profiles.selectors import (
    AmbiguousIdentity,
    IdentityLookupError,
    profile_by_id,
    profile_by_identity,
)

TEMPLATES = "activation/monitoring"


def _int(value: str | None) -> int | None:
    return parse_id(value)  # the input policy's ids: 1..2^63-1, else None


def _dataflow_or_404(request: HttpRequest, dataflow_id: int) -> Dataflow:
    dataflow = sel.dataflow_for_user(user=request.user, dataflow_id=dataflow_id)
    if dataflow is None:
        raise Http404("No such dataflow")
    return dataflow


@login_required
def dataflow_list(request: HttpRequest) -> HttpResponse:
    """The dataflows page; its table polls this view (204 while nothing changed)."""
    version = sel.dataflow_list_version(user=request.user)
    return live_response(
        request, version=version, render=lambda: _dataflow_list_render(request, version)
    )


def _dataflow_list_render(request: HttpRequest, version: str) -> HttpResponse:
    status = request.GET.get("status", "")
    connection_id = _int(request.GET.get("destination"))
    page, rows = sel.dataflow_list_page(
        user=request.user,
        status=status,
        connection_id=connection_id,
        page=request.GET.get("page"),
    )
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "statuses": sel.DISPLAY_STATUSES,
        "destination": connection_id,
        "destinations": sel.connections_with_dataflows(user=request.user),
        "filtered": bool(status or connection_id),
        "live_version": version,
    }
    template = f"{TEMPLATES}/dataflow_list.html"
    if request.htmx and request.htmx.target == "dataflow-table":
        template += "#dataflow-table"
    return render(request, template, context)


def _dataflow_page(request: HttpRequest, dataflow: Dataflow, *, live_version: str) -> dict:
    """Everything the dataflow page shows, for its current tab, period and page."""
    now = timezone.now()
    tab = request.GET.get("tab", "runs")
    if tab not in ("runs", "activation"):
        tab = "runs"
    query = request.GET.copy()
    query.pop(VERSION_PARAM, None)
    live_url = reverse("activation:dataflow_live", args=[dataflow.pk])
    context = {
        "dataflow": dataflow,
        "tab": tab,
        "now": now,
        "live_version": live_version,
        "live_url": f"{live_url}?{query.urlencode()}" if query else live_url,
        "progress": sel.dataflow_backfill_progress(dataflow=dataflow, now=now),
        "open_alerts": sel.dataflow_open_alerts(dataflow=dataflow),
        "segment_notices": segment_deletions(dataflow_id=dataflow.pk),
        "edit_lock": edit_lock(dataflow=dataflow),
    }
    if tab == "runs":
        period = sel.PERIODS.get(request.GET.get("period", ""), sel.PERIODS[sel.DEFAULT_PERIOD])
        failures_only = request.GET.get("failures") == "1"
        runs = sel.dataflow_runs(
            dataflow=dataflow, period=period, failures_only=failures_only, now=now
        )
        page = Paginator(runs, sel.RUNS_PER_PAGE).get_page(request.GET.get("page"))
        context |= {
            "period": period,
            "periods": sel.PERIODS.values(),
            "failures_only": failures_only,
            "chart": sel.dataflow_run_chart(dataflow=dataflow, period=period, now=now),
            "page": page,
            "run_rows": [sel.RunRow(run) for run in page.object_list],
        }
    else:
        context["activation"] = sel.dataflow_activation_data(dataflow=dataflow)
    return context


def _dataflow_version_or_404(dataflow_id: int) -> str:
    # Read before the page's data, so a change made meanwhile shows at the next poll.
    version = sel.dataflow_page_version(dataflow_id=dataflow_id)
    if version is None:
        raise Http404("No such dataflow")
    return version


@login_required
def dataflow_detail(request: HttpRequest, dataflow_id: int) -> HttpResponse:
    version = _dataflow_version_or_404(dataflow_id)
    dataflow = _dataflow_or_404(request, dataflow_id)
    context = _dataflow_page(request, dataflow, live_version=version)
    template = f"{TEMPLATES}/dataflow_detail.html"
    if request.htmx and request.htmx.target == "tab-panel":
        template += "#tab-panel"
    else:
        context |= dataflow_governance(dataflow)
    return render(request, template, context)


@login_required
def dataflow_live(request: HttpRequest, dataflow_id: int) -> HttpResponse:
    """The dataflow page's poll: 204 while nothing changed, else every live fragment
    (status and banner, alerts, backfill, figures and runs) swapped in place."""
    version = _dataflow_version_or_404(dataflow_id)
    return live_response(
        request,
        version=version,
        render=lambda: render(
            request,
            f"{TEMPLATES}/dataflow_live.html",
            _dataflow_page(request, _dataflow_or_404(request, dataflow_id), live_version=version),
        ),
    )


@login_required
def connection_live(request: HttpRequest, connection_id: int) -> HttpResponse:
    """The destination page's poll: its health and the state of its dataflows."""
    version = sel.connection_page_version(connection_id=connection_id)
    return live_response(
        request,
        version=version,
        render=lambda: render(
            request,
            f"{TEMPLATES}/connection_live.html",
            {
                "connection": get_object_or_404(Connection, pk=connection_id),
                "connection_dataflows": sel.connection_dataflows(connection_id=connection_id),
                "connection_live_version": version,
                "oob": True,
            },
        ),
    )


@login_required
def run_detail(request: HttpRequest, dataflow_id: int, run_id: int) -> HttpResponse:
    run = sel.run_for_user(user=request.user, dataflow_id=dataflow_id, run_id=run_id)
    if run is None:
        raise Http404("No such run")
    view = request.GET.get("view", "issues")
    kind = request.GET.get("kind", "")
    query = request.GET.get("q", "")[:200]
    context = {
        "run": run,
        "dataflow": run.dataflow,
        "view": view,
        "kind": kind if kind in RunIssueKind.values else "",
        "kinds": RunIssueKind.choices,
        "q": query,
        "row": sel.RunRow(run),
        "lookup_url": reverse("activation:delivery_lookup"),
    }
    if view == "deliveries":
        deliveries = sel.run_deliveries(run=run)
        context["page"] = Paginator(deliveries, sel.DELIVERIES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context["delivery_rows"] = sel.delivery_rows(context["page"].object_list)
    else:
        context["view"] = "issues"
        issues = sel.run_issues(run=run, kind=kind, query=query)
        context["page"] = Paginator(issues, sel.ISSUES_PER_PAGE).get_page(request.GET.get("page"))
        context["summary"] = sel.run_issue_summary(run=run)
    template = f"{TEMPLATES}/run_detail.html"
    if request.htmx and request.htmx.target in ("run-panel", "issue-results"):
        template += f"#{request.htmx.target}"
    return render(request, template, context)


@login_required
def delivery_lookup(request: HttpRequest) -> HttpResponse:
    identity = request.GET.get("identity", "").strip()[:600]
    profile_id = _int(request.GET.get("profile"))
    dataflow_id = _int(request.GET.get("dataflow"))
    context: dict = {"identity": identity, "dataflow_id": dataflow_id, "error": ""}
    if not identity and request.GET.get("profile", "").strip() and profile_id is None:
        context["error"] = "A profile id is a whole number from 1."
    match = None
    try:
        if identity:
            match = profile_by_identity(text=identity)
        elif profile_id:
            match = profile_by_id(profile_id=profile_id)
    except AmbiguousIdentity as ambiguous:
        context["candidates"] = ambiguous.candidates
        context["ambiguous"] = str(ambiguous)
    except IdentityLookupError as error:
        context["error"] = str(error)
    if match is not None:
        deliveries = sel.profile_deliveries(
            user=request.user, profile_id=match.profile_id, dataflow_id=dataflow_id
        )
        context["match"] = match
        context["page"] = Paginator(deliveries, sel.DELIVERIES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context["delivery_rows"] = sel.delivery_rows(context["page"].object_list)
    context["dataflows"] = sel.monitored_dataflows(user=request.user).order_by("name")
    template = f"{TEMPLATES}/delivery_lookup.html"
    if request.htmx and request.htmx.target == "lookup-results":
        template += "#lookup-results"
    return render(request, template, context)


@login_required
@require_GET
def delivery_record(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """One delivery's payload, read back from the stream (delivery lookup, on demand)."""
    delivery = get_object_or_404(
        DeliveryLog.objects.select_related("dataflow__connection").filter(
            dataflow__in=sel.monitored_dataflows(user=request.user)
        ),
        pk=delivery_id,
    )
    connection = delivery.dataflow.connection
    if connection is None or not delivery.sequence_number:
        read = inspector.DeliveredRecord(error="This delivery has no stream position to read.")
    else:
        read = inspector.delivered_record(
            connection=connection,
            shard_id=delivery.shard_id,
            sequence_number=delivery.sequence_number,
        )
    context = {"delivery": delivery, "read": read}
    return render(request, f"{TEMPLATES}/delivery_lookup.html#delivery-record", context)


def _inspector_trail(origin: str, connection: Connection) -> list[tuple[str, str]]:
    """The breadcrumb of the page the inspector was opened from (?from=...)."""
    kind, _, ident = origin.partition("-")
    if kind == "destination":
        return [
            ("Destinations", reverse("destinations:list")),
            (connection.name, reverse("destinations:detail", args=[connection.pk])),
        ]
    dataflow = None
    if kind == "dataflow" and (pk := parse_id(ident)) is not None:
        dataflow = Dataflow.objects.filter(pk=pk, connection=connection).first()
    trail = [("Dataflows", reverse("activation:dataflow_list"))]
    if dataflow is not None:
        trail.append((dataflow.name, reverse("activation:dataflow_detail", args=[dataflow.pk])))
    return trail


@login_required
def stream_inspector(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=connection_id)
    limit = _int(request.GET.get("limit")) or inspector.DEFAULT_LIMIT
    if limit not in inspector.LIMITS:
        limit = inspector.DEFAULT_LIMIT
    origin = request.GET.get("from", "")[:40]
    match = request.GET.get("match", "").strip()[:200]
    context = {
        "connection": connection,
        "limit": limit,
        "limits": inspector.LIMITS,
        "origin": origin,
        "trail": _inspector_trail(origin, connection),
        "match": match,
    }
    if request.GET.get("read") == "1":
        inspection = inspector.stream_inspect(connection=connection, limit=limit)
        if match:
            inspection.records = inspector.records_matching(inspection.records, match)
        context["inspection"] = inspection
    template = f"{TEMPLATES}/stream_inspector.html"
    if request.htmx and request.htmx.target == "inspector-results":
        template += "#inspector-results"
    return render(request, template, context)


# --- actions (a confirmation page, then a POST) -----------------------------------------


@dataclass(frozen=True)
class Action:
    """What a confirmation page says, and the service call its POST makes."""

    title: str
    consequences: list[str]
    button: str
    allowed: bool
    not_allowed: str
    success: str
    run: Callable[[], object]
    danger: bool = False
    # Where to go after the action; None means back to the dataflow's page.
    done_url: str | None = None


def _confirm_or_act(request: HttpRequest, dataflow: Dataflow, action: Action) -> HttpResponse:
    """GET shows the confirmation; POST runs the action (refusals become messages)."""
    if request.method != "POST":
        return render(
            request, f"{TEMPLATES}/confirm.html", {"dataflow": dataflow, "action": action}
        )
    if not action.allowed:
        messages.error(request, action.not_allowed)
    else:
        try:
            action.run()
        except (DataflowError, ValueError, ValidationError) as error:
            text = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.error(request, text)
        else:
            messages.success(request, action.success)
            if action.done_url:
                return redirect(action.done_url)
    return redirect("activation:dataflow_detail", dataflow.pk)


@login_required
@editor_required
def dataflow_enable(request: HttpRequest, dataflow_id: int) -> HttpResponse:
    dataflow = _dataflow_or_404(request, dataflow_id)
    action = Action(
        title=f"Enable “{dataflow.name}”?",
        consequences=[
            "Profiles that qualify for or leave a mapped segment, or whose mapped attributes "
            "or identities change, are exported to the stream again.",
            "Changes made while the dataflow was off are sent first, in order.",
        ],
        button="Enable dataflow",
        allowed=dataflow.status in (DataflowStatus.DISABLED, DataflowStatus.ERROR),
        not_allowed="This dataflow is already enabled.",
        success=f"“{dataflow.name}” is enabled: changes are exported again.",
        run=lambda: services.dataflow_enable(dataflow=dataflow, user=request.user),
    )
    return _confirm_or_act(request, dataflow, action)


@login_required
@editor_required
def dataflow_disable(request: HttpRequest, dataflow_id: int) -> HttpResponse:
    dataflow = _dataflow_or_404(request, dataflow_id)
    action = Action(
        title=f"Disable “{dataflow.name}”?",
        consequences=[
            "Nothing is sent to the stream until you enable the dataflow again; a running "
            "backfill pauses.",
            "Changes made meanwhile (profiles joining or leaving its segments, mapped "
            "attributes written) are kept, and sent when you enable it again.",
            "Segments, mapping and history are kept.",
        ],
        button="Disable dataflow",
        allowed=dataflow.status != DataflowStatus.DISABLED,
        not_allowed="This dataflow is already disabled.",
        success=f"“{dataflow.name}” is disabled: nothing is exported until you enable it.",
        run=lambda: services.dataflow_disable(dataflow=dataflow, user=request.user),
        danger=True,
    )
    return _confirm_or_act(request, dataflow, action)


@login_required
@editor_required
def dataflow_delete(request: HttpRequest, dataflow_id: int) -> HttpResponse:
    dataflow = _dataflow_or_404(request, dataflow_id)
    action = Action(
        title=f"Delete “{dataflow.name}”?",
        consequences=[
            "Its segments, mapping, runs and delivery log are deleted for good.",
            "Records already in the stream stay there; nothing more is sent.",
        ],
        button="Delete dataflow",
        # A disabled dataflow has no export in flight that could race the delete.
        allowed=dataflow.status != DataflowStatus.ENABLED,
        not_allowed="Disable the dataflow first, so no export is running while it is deleted.",
        success=f"Deleted the dataflow “{dataflow.name}”.",
        run=lambda: services.dataflow_delete(dataflow=dataflow, user=request.user),
        danger=True,
        done_url=reverse("activation:dataflow_list"),
    )
    return _confirm_or_act(request, dataflow, action)


@login_required
@editor_required
def segment_replay(request: HttpRequest, dataflow_id: int, segment_id: uuid.UUID) -> HttpResponse:
    dataflow = _dataflow_or_404(request, dataflow_id)
    mapped = sel.segment_for_replay(dataflow=dataflow, segment_id=segment_id)
    if mapped is None:
        raise Http404("This segment is not mapped to the dataflow")
    size = segment_sizes(segment_ids=[segment_id])[segment_id]
    action = Action(
        title=f"Re-export “{mapped.segment.name}”?",
        consequences=[
            f"All {size:,} current members of the segment are sent to the stream again, with "
            "all mapped attributes (consumers receive them as new records).",
            "Progress shows on the dataflow's page; incremental exports continue meanwhile.",
        ],
        button=f"Re-export {size:,} profiles",
        allowed=dataflow.status == DataflowStatus.ENABLED,
        not_allowed="Enable the dataflow first: a disabled or failing dataflow exports nothing.",
        success=f"Re-exporting the current members of “{mapped.segment.name}”.",
        run=lambda: backfill_start(dataflow=dataflow, segment_ids=[segment_id], reason="replay"),
    )
    return _confirm_or_act(request, dataflow, action)
