import hashlib
import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from activation.selectors import dataflows_exporting
from core.input_policy import InputError, parse_index, parse_json
from profiles import segments as segment_service
from profiles.editor import MATCHES, OPERATOR_LABELS, Row, rows_from_data, rows_from_rule
from profiles.forms import ProfilePatchForm, SegmentForm, rule_from_submission
from profiles.models import Profile, Segment
from profiles.segments import (
    RuleChangePreview,
    names_text,
    segment_change_preview,
    segment_create,
    segment_exporters,
    segment_schedule_evaluation,
    segment_update,
)
from profiles.selectors import (
    attribute_paths_sample,
    attributes_page,
    change_summaries,
    profile_memberships,
    profile_recent_changes,
    profiles_search,
    rule_match_count,
    segments_with_sizes,
)
from profiles.services import profile_upsert

# --- segments ---------------------------------------------------------------------


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    segments = list(segments_with_sizes(query=query).order_by("name", "pk"))
    exporters = dataflows_exporting(segment_ids=[s.pk for s in segments])
    for segment in segments:
        segment.exporters = exporters[segment.pk]
    context = {"segments": segments, "q": query}
    template = "profiles/segment_list.html"
    return render(request, f"{template}#segment-table" if request.htmx else template, context)


@login_required
def segment_create_view(request: HttpRequest) -> HttpResponse:
    form = SegmentForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        segment = segment_create(
            name=data["name"],
            description=data["description"],
            rule=form.rule,
            active=data["active"],
        )
        messages.success(
            request,
            gettext("Segment “%(name)s” created; finding its members now.")
            % {"name": segment.name},
        )
        return redirect("profiles:segment_edit", segment_id=segment.pk)
    return _segment_page(request, form, segment=None)


@login_required
def segment_edit(request: HttpRequest, segment_id: uuid.UUID) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            preview = segment_change_preview(segment=segment, rule=form.rule, active=data["active"])
            token = _confirmation_token(form.rule, data["active"])
            if preview.needs_confirmation and request.POST.get("confirm_change") != token:
                # Exported members would move: show what will be sent, save on confirm.
                return _segment_page(request, form, segment=segment, preview=preview, token=token)
            rule_changed = form.rule != segment.rule
            segment_update(
                segment=segment,
                name=data["name"],
                description=data["description"],
                rule=form.rule,
                active=data["active"],
            )
            if rule_changed:
                text = gettext("Segment “%(name)s” saved. Its members are being re-evaluated.")
            else:
                text = gettext("Segment “%(name)s” saved.")
            messages.success(request, text % {"name": segment.name})
            return redirect("profiles:segment_edit", segment_id=segment.pk)
    else:
        form = SegmentForm(initial=_initial(segment))
    return _segment_page(request, form, segment=segment)


def _confirmation_token(rule: dict, active: bool) -> str:
    """Ties a confirmation to the rule it previewed: editing it again asks again."""
    text = json.dumps([rule, active], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _initial(segment: Segment) -> dict:
    shown = rows_from_rule(segment.rule)
    return {
        "name": segment.name,
        "description": segment.description,
        "active": segment.active,
        "mode": "builder" if shown else "json",
        "match": shown[0] if shown else "and",
        "rule_json": json.dumps(segment.rule, indent=2),
    }


def _segment_page(
    request: HttpRequest,
    form: SegmentForm,
    *,
    segment: Segment | None,
    preview: RuleChangePreview | None = None,
    token: str = "",
) -> HttpResponse:
    if not form.is_bound:
        shown = rows_from_rule(segment.rule if segment else None)
        form.rows = shown[1] if shown else [Row()]
    context = {
        **_editor_context(form),
        "form": form,
        "segment": segment,
        "members": _member_counts(segment) if segment else None,
        "exporters": segment_exporters(segment) if segment else [],
        "preview": preview,
        "confirm_token": token,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "profiles/segment_form.html", context, status=status)


def _editor_context(form: SegmentForm) -> dict:
    mode = form.data.get("mode") if form.is_bound else form.initial.get("mode", "builder")
    match = form.data.get("match") if form.is_bound else form.initial.get("match", "and")
    rule_json = form.data.get("rule_json") if form.is_bound else form.initial.get("rule_json")
    return {
        "mode": mode or "builder",
        "match": match or "and",
        "rows": form.rows,
        "rule_json": rule_json or "",
        "operators": OPERATOR_LABELS.items(),
        "matches": MATCHES.items(),
        "path_suggestions": attribute_paths_sample(),
    }


def _member_counts(segment: Segment) -> dict:
    counts = segment.memberships.aggregate(
        realized=Count("id", filter=Q(status="realized")),
        existing=Count("id", filter=Q(status="existing")),
        exited=Count("id", filter=Q(status="exited")),
    )
    counts["live"] = counts["realized"] + counts["existing"]
    counts["pending"] = segment.active and (
        segment.evaluated_at is None or segment.evaluated_at < segment.updated_at
    )
    return counts


@login_required
@require_GET
def segment_editor(request: HttpRequest) -> HttpResponse:
    """The rule editor re-rendered: add or remove a condition, or switch mode."""
    data = request.GET
    rows = rows_from_data(data)
    mode = data.get("mode", "builder")
    match = data.get("match", "and")
    rule_json = data.get("rule_json", "")
    action = data.get("action", "")
    note = ""
    if action == "add":
        rows.append(Row())
    elif action.startswith("remove-") and (index := parse_index(action[7:])) is not None:
        rows = [row for i, row in enumerate(rows) if i != index] or [Row()]
    elif action == "to-json":
        rule, _ = rule_from_submission(_with(data, mode="builder"), rows)
        rule_json = json.dumps(rule, indent=2) if rule else rule_json
        mode = "json"
    elif action == "to-builder":
        try:
            shown = rows_from_rule(parse_json(rule_json or "{}"))
        except InputError:
            shown = None
        if shown:
            match, rows = shown
            mode = "builder"
        else:
            note = gettext("This rule has nested groups or 'not': it can only be edited as JSON.")
    context = {
        "mode": mode,
        "match": match,
        "rows": rows,
        "rule_json": rule_json,
        "operators": OPERATOR_LABELS.items(),
        "matches": MATCHES.items(),
        "editor_note": note,
    }
    response = render(request, "profiles/segment_form.html#rule-editor", context)
    response["HX-Trigger-After-Settle"] = "rule-changed"  # the live count refreshes
    return response


def _with(data: QueryDict, **values: str) -> QueryDict:
    copy = data.copy()
    for key, value in values.items():
        copy[key] = value
    return copy


@login_required
@require_GET
def segment_count(request: HttpRequest) -> HttpResponse:
    """Live count of profiles matching the rule being edited."""
    rows = rows_from_data(request.GET)
    rule, problems = rule_from_submission(request.GET, rows)
    problems += [f"Condition {i + 1}: {m}" for i, r in enumerate(rows) for m in r.errors.values()]
    context = {"problems": problems}
    if rule is not None and not problems:
        context["count"] = rule_match_count(rule)
        context["total"] = Profile.objects.count()
    return render(request, "profiles/segment_form.html#live-count", context)


@login_required
@require_POST
def segment_delete(request: HttpRequest, segment_id: uuid.UUID) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    name = segment.name
    exporters = segment_service.segment_delete(segment=segment, user=request.user)
    text = gettext("Segment “%(name)s” deleted.") % {"name": name}
    if exporters:
        note = ngettext(
            "%(names)s no longer exports it; the dataflow pages say so.",
            "%(names)s no longer export it; the dataflow pages say so.",
            len(exporters),
        ) % {"names": names_text([e.name for e in exporters])}
        text = f"{text} {note}"
    messages.success(request, text)
    return redirect("profiles:segment_list")


@login_required
@require_POST
def segment_evaluate_now(request: HttpRequest, segment_id: uuid.UUID) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id, active=True)
    segment_schedule_evaluation(segment)
    messages.success(
        request, gettext("Re-evaluating “%(name)s” over every profile.") % {"name": segment.name}
    )
    return redirect("profiles:segment_edit", segment_id=segment.pk)


@login_required
@require_GET
def segment_members(request: HttpRequest, segment_id: uuid.UUID) -> HttpResponse:
    """The member counts panel (polled while an evaluation is pending)."""
    segment = get_object_or_404(Segment, pk=segment_id)
    context = {"segment": segment, "members": _member_counts(segment)}
    response = render(request, "profiles/segment_form.html#member-counts", context)
    if not context["members"]["pending"]:
        response.status_code = 286  # htmx: stop polling
    return response


# --- profiles ---------------------------------------------------------------------


@login_required
def profile_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(profiles_search(query=query), 50).get_page(request.GET.get("page"))
    context = {"page": page, "q": query}
    template = "profiles/profile_list.html"
    return render(request, f"{template}#profile-results" if request.htmx else template, context)


@login_required
def profile_detail(request: HttpRequest, profile_id: int) -> HttpResponse:
    profile = get_object_or_404(Profile.objects.prefetch_related("identities"), pk=profile_id)
    form = ProfilePatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        error = _patch(profile, form.cleaned_data["attributes"])
        if error is None:
            messages.success(request, gettext("Attributes saved."))
            return redirect("profiles:profile_detail", profile_id=profile.pk)
        form.add_error("attributes", error)
    attributes = attributes_page(profile.attributes, page=request.GET.get("attributes_page"))
    context = {
        "profile": profile,
        "identities": sorted(profile.identities.all(), key=lambda i: (i.namespace, i.value)),
        "attributes": attributes,
        "attributes_json": json.dumps(attributes.document, indent=2, ensure_ascii=False),
        "memberships": profile_memberships(profile),
        "changes": change_summaries(profile_recent_changes(profile)),
        "form": form,
    }
    return render(
        request, "profiles/profile_detail.html", context, status=400 if form.errors else 200
    )


def _patch(profile: Profile, attributes: dict) -> str | None:
    """Write a patch through the one write path, matched by one of the profile's identities."""
    identity = profile.identities.order_by("namespace", "value").first()
    if identity is None:
        return gettext("This profile has no identity to match it by.")
    record = {
        "identityMap": {identity.namespace: [{"id": identity.value}]},
        "attributes": attributes,
    }
    result = profile_upsert(record=record, source="ui")
    if result.error:
        return (
            "; ".join(f"{k}: {v}" for k, v in result.error.fields.items()) or result.error.message
        )
    return None
