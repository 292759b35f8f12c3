"""The activation wizard: one view per step over a draft Dataflow.

Every step view loads the draft by primary key, refuses a skipped step
(redirect to the first incomplete one, with a message) and stores what the
marketer chose on the draft itself, so back/forward and resuming later keep
every choice.
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from activation import selectors, services
from activation.export.records import MAX_RECORD_BYTES, UnbuildableRecord, record_for_profile
from activation.models import Dataflow, DataflowStatus
from activation.wizard.forms import (
    DestinationForm,
    FinishForm,
    MappingForm,
    segment_selection,
)
from activation.wizard.notices import edit_handover_notice
from activation.wizard_steps import Step, blocking_step, resume_step, step_states
from core.input_policy import parse_id
from core.roles import editor_required
from core.wizard import Detour, with_object
from governance.selectors import dataflow_governance
from governance.services import PolicyViolationError
from profiles.models import Profile

T = "activation/wizard/"
NEAR_LIMIT_BYTES = 900 * 1024
MISSING_WARNING_SHARE = 0.5


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for htmx requests (full page navigation)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _step_url(step: Step, dataflow: Dataflow) -> str:
    return reverse(step.url_name, args=[dataflow.pk])


def live_dataflow_url(dataflow: Dataflow) -> str:
    """The dataflow's page in monitoring, or the list while there is none."""
    try:
        return reverse("activation:dataflow_detail", args=[dataflow.pk])
    except NoReverseMatch:
        return reverse("activation:dataflow_list")


def _load_draft(request: HttpRequest, pk: int, step: Step) -> Dataflow:
    """The user's draft at `step`; a Detour when it is finished or a step is skipped."""
    dataflow = selectors.dataflows_for_user(user=request.user).filter(pk=pk).first()
    if dataflow is None:
        raise Detour(_not_yours(request, pk))
    if dataflow.status != DataflowStatus.DRAFT:
        messages.info(request, f"“{dataflow.name}” is already active; edit it to change it.")
        raise Detour(_redirect(request, live_dataflow_url(dataflow)))
    blocker = blocking_step(dataflow, step)
    if blocker is not None:
        messages.warning(request, f"Complete the step “{blocker.label}” first.")
        raise Detour(_redirect(request, _step_url(blocker, dataflow)))
    return dataflow


def draft_at(step: Step) -> Callable[[Callable[..., HttpResponse]], Any]:
    """A step view's decorator: the view gets the user's draft, loaded for `step`."""
    return with_object(lambda request, pk: _load_draft(request, pk, step))


def _context(dataflow: Dataflow | None, step: Step, **extra: object) -> dict:
    return {
        "dataflow": dataflow,
        "step": step,
        "steps": step_states(dataflow, step, url_of=lambda s: _step_url(s, dataflow)),
        "editing": bool(dataflow and dataflow.edit_of_id),
        **extra,
    }


# --- one edit per live dataflow: who holds it, take over, discard ----------------------


def _not_yours(request: HttpRequest, pk: int) -> HttpResponse:
    """For a draft URL the user cannot open: who is editing instead, or what became of
    the user's own edit (taken over or discarded by someone else), else 404."""
    lock = selectors.someone_elses_edit(pk=pk, user=request.user)
    if lock is not None:
        return _edit_locked(request, lock)
    handover = selectors.edit_handover_of_draft(draft_id=pk, user=request.user)
    if handover is None:
        raise Http404("No such draft.")
    if handover.draft_id not in getattr(request, "edit_handover_notices", ()):
        messages.warning(request, edit_handover_notice(handover))
    return _redirect(request, live_dataflow_url(handover.dataflow))


def _edit_locked(request: HttpRequest, lock: selectors.EditLock) -> HttpResponse:
    """Who is editing the live dataflow and since when, with take over and discard (409)."""
    context = {"lock": lock, "dataflow": lock.draft.edit_of}
    return render(request, T + "edit_locked.html", context, status=409)


@login_required
@require_POST
def wizard_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a live dataflow: walk the same steps on a draft copy (one per dataflow).

    When another user is editing it, say who and since when, and offer to take
    over their edit (`take_over=1`) or discard it.
    """
    dataflow = get_object_or_404(selectors.dataflows_for_user(user=request.user), pk=pk)
    before = selectors.edit_lock(dataflow=dataflow)
    take_over = request.POST.get("take_over") == "1"
    try:
        draft = services.dataflow_edit_start(
            dataflow=dataflow, user=request.user, take_over=take_over
        )
    except services.EditInProgressError as busy:
        return _edit_locked(request, busy.lock)
    except services.DataflowError as error:
        messages.error(request, str(error))
        return redirect("activation:wizard_resume", pk=dataflow.pk)
    if take_over and before is not None and before.editor.pk != request.user.pk:
        messages.success(
            request,
            f"You took over {before.editor_name}'s edit, with their changes so far; "
            "they are told when they come back.",
        )
    return redirect(_step_url(Step.SEGMENTS, draft))


@login_required
@require_POST
def wizard_edit_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Discard the unfinished edit of a live dataflow, whoever started it."""
    dataflow = get_object_or_404(selectors.dataflows_for_user(user=request.user), pk=pk)
    lock = selectors.edit_lock(dataflow=dataflow)
    if services.dataflow_edit_discard(dataflow=dataflow, user=request.user) and lock:
        mine = lock.editor.pk == request.user.pk
        whose = "your" if mine else f"{lock.editor_name}'s"
        told = "" if mine else " They are told when they come back."
        messages.success(request, f"Discarded {whose} unfinished edit of “{dataflow.name}”.{told}")
    return redirect(live_dataflow_url(dataflow))


# --- start, resume, drafts ----------------------------------------------------------------


@login_required
@editor_required  # even its GET writes (a draft) when entered from a connection
@require_http_methods(["GET", "POST"])
def wizard_start(request: HttpRequest) -> HttpResponse:
    """Step 1 for a new dataflow; entered from a connection it goes straight to segments."""
    connections = selectors.connections_for_user(user=request.user)
    connection_id = request.GET.get("connection", "")
    if request.method == "GET" and (wanted := parse_id(connection_id)) is not None:
        connection = connections.filter(pk=wanted).first()
        if connection is not None:
            dataflow = services.dataflow_draft_create(user=request.user, connection=connection)
            return redirect(_step_url(Step.SEGMENTS, dataflow))
        messages.error(request, "That destination does not exist.")
    data = request.POST if request.method == "POST" else None
    # The only destination there is is the one meant: preselect it.
    only = list(connections[:2])
    initial = {"connection": only[0].pk} if len(only) == 1 else {}
    form = DestinationForm(data, connections=connections, initial=initial)
    if request.method == "POST" and form.is_valid():
        dataflow = services.dataflow_draft_create(
            user=request.user, connection=form.cleaned_data["connection"]
        )
        return redirect(_step_url(Step.SEGMENTS, dataflow))
    context = _context(None, Step.DESTINATION, form=form, connections=connections)
    context["draft_count"] = selectors.drafts_for_user(user=request.user).count()
    return render(request, T + "destination.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@draft_at(Step.DESTINATION)
def wizard_destination(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    connections = selectors.connections_for_user(user=request.user)
    initial = {"connection": dataflow.connection_id}
    data = request.POST if request.method == "POST" else None
    form = DestinationForm(data, connections=connections, initial=initial)
    if request.method == "POST":
        if dataflow.edit_of_id:
            return redirect(_step_url(Step.SEGMENTS, dataflow))
        if form.is_valid():
            services.dataflow_set_connection(
                dataflow=dataflow, connection=form.cleaned_data["connection"]
            )
            if request.htmx and request.POST.get("action") == "autosave":
                return HttpResponse(status=204)
            return redirect(_step_url(Step.SEGMENTS, dataflow))
    context = _context(dataflow, Step.DESTINATION, form=form, connections=connections)
    return render(request, T + "destination.html", context, status=400 if form.errors else 200)


@login_required
def wizard_resume(request: HttpRequest, pk: int) -> HttpResponse:
    dataflow = selectors.dataflows_for_user(user=request.user).filter(pk=pk).first()
    if dataflow is None:
        return _not_yours(request, pk)
    if dataflow.status != DataflowStatus.DRAFT:
        return redirect(live_dataflow_url(dataflow))
    return redirect(_step_url(resume_step(dataflow), dataflow))


@login_required
def wizard_drafts(request: HttpRequest) -> HttpResponse:
    """Unfinished wizards to resume or discard (the destinations page embeds the section)."""
    drafts = selectors.drafts_for_user(user=request.user)
    connection_id = request.GET.get("connection", "")
    if (wanted := parse_id(connection_id)) is not None:
        drafts = drafts.filter(connection_id=wanted)
    rows = [{"dataflow": d, "next_step": resume_step(d)} for d in drafts[:100]]
    template = T + "drafts.html" + ("#drafts-section" if request.htmx else "")
    return render(request, template, {"rows": rows})


@login_required
@require_POST
def wizard_discard(request: HttpRequest, pk: int) -> HttpResponse:
    dataflow = get_object_or_404(selectors.dataflows_for_user(user=request.user), pk=pk)
    try:
        services.dataflow_draft_discard(dataflow=dataflow)
    except services.DataflowError as error:
        messages.error(request, str(error))
        return redirect(live_dataflow_url(dataflow))
    messages.success(request, f"Discarded the draft “{dataflow.name}”.")
    if dataflow.edit_of_id:
        return redirect(live_dataflow_url(dataflow.edit_of))
    return redirect("activation:wizard_drafts")


# --- segments ----------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@draft_at(Step.SEGMENTS)
def wizard_segments(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    query = params.get("q", "")
    page = params.get("page") or params.get("current_page") or 1
    if params.get("action") == "search":
        page = 1
    error = ""
    if request.method == "POST":
        current = selectors.selected_segment_ids(dataflow=dataflow)
        chosen = segment_selection(current=current, data=request.POST)
        if chosen != current:
            try:
                services.dataflow_set_segments(dataflow=dataflow, segment_ids=chosen)
            except ValidationError as refused:  # a ticked segment was deleted meanwhile
                error, chosen = " ".join(refused.messages), current
        action = "" if error else request.POST.get("action")  # refused: stay and say why
        if action == "back":
            return redirect(_step_url(Step.DESTINATION, dataflow))
        if action == "next":
            if chosen:
                return redirect(_step_url(Step.MAPPING, dataflow))
            error = "Select at least one segment to activate."
        elif not request.htmx and not error:
            url = _step_url(Step.SEGMENTS, dataflow)
            return redirect(f"{url}?{urlencode({'q': query, 'page': page})}")
    page_obj, rows = selectors.segment_page(dataflow=dataflow, query=query, page=page)
    context = _context(
        dataflow,
        Step.SEGMENTS,
        query=query,
        page=page_obj,
        rows=rows,
        selected=selectors.mapped_segment_rows(dataflow=dataflow),
        error=error,
    )
    template = T + "segments.html" + ("#segments-panel" if request.htmx else "")
    return render(request, template, context, status=400 if error else 200)


# --- mapping -----------------------------------------------------------------------------


def _mapping_inputs(dataflow: Dataflow) -> dict:
    schema = selectors.profile_schema()
    return {
        "namespaces": selectors.identity_namespaces(),
        "known_paths": {item.path for item in schema},
        "coverage": selectors.namespace_coverage(dataflow=dataflow),
    }


def _apply_edit(form: MappingForm, data: QueryDict) -> bool:
    """Apply a row edit (add from the picker, remove, add a blank row); True when one was made."""
    if "add" in data:
        form.add(data["add"])
    elif "remove" in data:
        form.remove(data["remove"])
    elif data.get("action") == "add_row":
        form.add_blank()
    else:
        return False
    return True


def _save_mapping(dataflow: Dataflow, form: MappingForm) -> bool:
    """Store the form on the draft when it is valid (the draft is the saved state)."""
    if not form.is_valid():
        return False
    try:
        services.dataflow_set_mapping(
            dataflow=dataflow,
            attributes=form.specs(),
            identities=form.identity_specs(),
            partition_key_source=form.partition_key,
            export_only_on_value_change=form.export_only_on_value_change,
        )
    except ValidationError as error:
        form.errors.extend(error.messages)
        return False
    return True


def _picker_context(form: MappingForm, query: str) -> dict:
    schema = selectors.search_schema(selectors.profile_schema(), query)[:200]
    return {"schema": schema, "picker_q": query, "mapped_paths": form.mapped_paths}


@never_cache  # browser Back must show the saved draft, not a stale copy of the page
@login_required
@require_http_methods(["GET", "POST"])
@draft_at(Step.MAPPING)
def wizard_mapping(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    inputs = _mapping_inputs(dataflow)
    status = 200
    saved = None
    if request.method == "GET":
        form = MappingForm.for_dataflow(
            dataflow,
            default_partition_key=selectors.default_partition_key(
                dataflow=dataflow, coverage=inputs["coverage"]
            ),
            **inputs,
        )
    else:
        form = MappingForm.from_post(request.POST, **inputs)
        _apply_edit(form, request.POST)
        saved = _save_mapping(dataflow, form)
        action = request.POST.get("action", "")
        if saved and action in {"next", "back", "save"}:
            target = {"next": Step.REVIEW, "back": Step.SEGMENTS}.get(action)
            if target is None:
                messages.success(request, "Mapping saved.")
                target = Step.MAPPING
            return redirect(_step_url(target, dataflow))
        if not saved:
            status = 400 if action in {"next", "back", "save"} else 200
    schema_query = request.POST.get("picker_q", "") if request.method == "POST" else ""
    context = _context(
        dataflow, Step.MAPPING, form=form, saved=saved, **_picker_context(form, schema_query)
    )
    return render(request, T + "mapping.html", context, status=status)


@login_required
@require_POST
@draft_at(Step.MAPPING)
def wizard_mapping_save(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    """Autosave (htmx): each change of the mapping step is stored as it is made.

    Answers out-of-band fragments only: each field's errors, the save status
    and, after a row edit, the rows and the picker's marks; never the inputs
    the marketer may be typing in.
    """
    form = MappingForm.from_post(request.POST, **_mapping_inputs(dataflow))
    edited = _apply_edit(form, request.POST)
    saved = _save_mapping(dataflow, form)
    context = {
        "dataflow": dataflow,
        "form": form,
        "saved": saved,
        "edited": edited,
        "oob": True,
        **_picker_context(form, request.POST.get("picker_q", "")),
    }
    return render(request, T + "mapping_saved.html", context)


@login_required
def wizard_schema(request: HttpRequest, pk: int) -> HttpResponse:
    """The schema picker's list, filtered (htmx fragment)."""
    dataflow = get_object_or_404(selectors.dataflows_for_user(user=request.user), pk=pk)
    query = request.GET.get("picker_q", "")
    schema = selectors.search_schema(selectors.profile_schema(), query)[:200]
    # The page's own rows when it sends them (defaults not saved yet), else the saved ones.
    mapped = set(request.GET.getlist("source_path")) or set(
        dataflow.attribute_mappings.values_list("source_path", flat=True)
    )
    context = {"dataflow": dataflow, "schema": schema, "picker_q": query, "mapped_paths": mapped}
    return render(request, T + "mapping.html#picker-list", context)


# --- review and finish ---------------------------------------------------------------


def _sample(dataflow: Dataflow, requested: str, after: str) -> dict:
    """The review's sample record: a chosen member, the next one, or the first."""
    error = ""
    profile_id = None
    if requested.strip():
        wanted = parse_id(requested)
        if wanted is None:
            error = f"“{requested}” is not a profile id."
        elif not selectors.is_member(dataflow=dataflow, profile_id=wanted):
            error = f"Profile {wanted} is not a current member of the selected segments."
        else:
            profile_id = wanted
    if profile_id is None:
        previous = parse_id(after)
        profile_id = selectors.sample_member_id(dataflow=dataflow, after=previous)
    if profile_id is None:
        return {"sample_error": error, "record": None}
    try:
        record = record_for_profile(dataflow=dataflow, profile_id=profile_id)
    except Profile.DoesNotExist:
        return {"sample_error": f"Profile {profile_id} no longer exists.", "record": None}
    except UnbuildableRecord as exc:
        return {"sample_error": f"Profile {profile_id} is excluded: {exc.reason}", "record": None}
    pretty = json.dumps(json.loads(record.data), indent=2, ensure_ascii=False)
    return {"sample_error": error, "record": record, "pretty": pretty}


def _warnings(dataflow: Dataflow, record: object, segments: list) -> list[str]:
    warnings = []
    size = getattr(record, "size_bytes", 0)
    if size > MAX_RECORD_BYTES:
        warnings.append(
            f"The sample record is {size:,} bytes, over Kinesis' 1 MiB default record limit: "
            "unless the stream takes larger records (its limit is shown with its capacity), "
            "such profiles are excluded from the export. Map fewer or smaller attributes."
        )
    elif size > NEAR_LIMIT_BYTES:
        warnings.append(
            f"The sample record is {size:,} bytes, close to Kinesis' 1 MiB limit: larger "
            "profiles would be excluded."
        )
    for path, share in selectors.attribute_coverage(dataflow=dataflow).items():
        if share < MISSING_WARNING_SHARE:
            warnings.append(
                f"{path} is missing in {round((1 - share) * 100)} % of sampled members: "
                "their records will not contain it."
            )
    count = dataflow.attribute_mappings.count()
    if count > services.SOFT_ATTRIBUTE_LIMIT:
        warnings.append(
            f"{count} attributes are mapped (more than {services.SOFT_ATTRIBUTE_LIMIT}): "
            "records grow, and so does the stream's load."
        )
    warnings += [
        f"Segment “{row.segment.name}” is inactive: it is not evaluated, so its members "
        "do not change."
        for row in segments
        if not row.segment.active
    ]
    if not any(row.size for row in segments):
        warnings.append("The selected segments have no members yet: nothing is backfilled.")
    if dataflow.partition_key_source != services.PROFILE_ID:
        share = selectors.namespace_coverage(dataflow=dataflow).get(
            dataflow.partition_key_source, 0.0
        )
        if segments and any(row.size for row in segments) and share < 1:
            warnings.append(
                f"{round((1 - share) * 100)} % of sampled members have no "
                f"{dataflow.partition_key_source} identity: their partition key is the "
                "profile id."
            )
    return warnings


def _backfill_segment_ids(dataflow: Dataflow) -> list:
    """Segments whose members finishing will backfill: all, or those an edit adds."""
    chosen = selectors.selected_segment_ids(dataflow=dataflow)
    if dataflow.edit_of_id:
        chosen -= selectors.selected_segment_ids(dataflow=dataflow.edit_of)
    return list(chosen)


def _review_context(request: HttpRequest, dataflow: Dataflow, form: FinishForm) -> dict:
    segments = selectors.mapped_segment_rows(dataflow=dataflow)
    sample = _sample(dataflow, request.GET.get("sample", ""), request.GET.get("after", ""))
    return _context(
        dataflow,
        Step.REVIEW,
        form=form,
        connection=dataflow.connection,
        segments=segments,
        attributes=list(dataflow.attribute_mappings.all()),
        identities=list(dataflow.identity_selections.all()),
        warnings=_warnings(dataflow, sample.get("record"), segments),
        change_summary=services.edit_summary(dataflow) if dataflow.edit_of_id else "",
        review=True,
        **dataflow_governance(dataflow, count_consent=True),
        **sample,
    )


@never_cache
@login_required
@draft_at(Step.REVIEW)
def wizard_review(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    form = FinishForm(initial={"name": dataflow.name})
    return render(request, T + "review.html", _review_context(request, dataflow, form))


@login_required
@require_POST
@draft_at(Step.REVIEW)
def wizard_name_save(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    """Autosave (htmx) of the name typed on the review step; answers its error slot."""
    form = FinishForm(request.POST)
    if form.is_valid():
        try:
            services.dataflow_set_name(dataflow=dataflow, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error.messages)
    context = {"form": form, "oob": True, "name_saved": not form.errors}
    return render(request, T + "review.html#name-errors", context)


@login_required
@draft_at(Step.REVIEW)
def wizard_sample(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    """Another sample record (htmx fragment; without htmx, the review page)."""
    if not request.htmx:
        url = _step_url(Step.REVIEW, dataflow)
        return redirect(f"{url}?{request.GET.urlencode()}")
    sample = _sample(dataflow, request.GET.get("sample", ""), request.GET.get("after", ""))
    return render(request, T + "review.html#sample", {"dataflow": dataflow, **sample})


@login_required
@draft_at(Step.REVIEW)
def wizard_capacity(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    """The stream's capacity against the backfill (htmx fragment: it asks AWS)."""
    sample = _sample(dataflow, request.GET.get("sample", ""), "")
    record = sample.get("record")
    capacity = selectors.stream_capacity(
        connection=dataflow.connection,
        records=selectors.distinct_member_count(segment_ids=_backfill_segment_ids(dataflow)),
        record_bytes=record.size_bytes if record else 0,
    )
    context = {"dataflow": dataflow, "capacity": capacity, "editing": bool(dataflow.edit_of_id)}
    return render(request, T + "review.html#capacity", context)


@login_required
@require_POST
@draft_at(Step.REVIEW)
def wizard_finish(request: HttpRequest, dataflow: Dataflow) -> HttpResponse:
    form = FinishForm(request.POST)
    if form.is_valid():
        editing = bool(dataflow.edit_of_id)
        try:
            live = services.dataflow_finish(
                dataflow=dataflow, user=request.user, name=form.cleaned_data["name"]
            )
        except services.WizardIncompleteError as error:
            messages.warning(request, str(error))
            return redirect(_step_url(error.step, dataflow))
        except PolicyViolationError as error:
            form.add_error(None, str(error))  # the review shows the chains
        except services.DataflowError as error:
            messages.error(request, str(error))
            return redirect(live_dataflow_url(dataflow))
        except ValidationError as error:
            form.add_error("name", error.messages)
        else:
            if editing:
                messages.success(request, f"Saved your changes to “{live.name}”.")
            else:
                messages.success(
                    request, f"“{live.name}” is enabled; its segments' members are being exported."
                )
            return redirect(live_dataflow_url(live))
    context = _review_context(request, dataflow, form)
    return render(request, T + "review.html", context, status=400)
