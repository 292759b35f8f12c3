"""The Kinesis connect wizard and connection pages.

One view per step. Each serves its full page and, for htmx requests, just the
panel it updates. Nothing secret goes into the session or the HTML: step 1
keeps the verified credentials in a ConnectionDraft (encrypted) and step 2
addresses that draft by its id.
"""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from activation.monitoring.selectors import connection_live_context
from core.roles import editor_required, user_can_edit
from core.service_errors import ServiceError
from core.stored_text import translate
from core.wizard import Detour, progress, with_object
from destinations import selectors, services
from destinations.kinesis import aws as kinesis
from destinations.kinesis.forms import AuthenticateForm, DetailsForm, EditForm
from destinations.kinesis.permissions import CheckReport
from destinations.kinesis.policy import as_json, minimal_policy, trust_policy
from destinations.models import Connection, ConnectionDraft
from destinations.wizard_steps import Step

STREAM_PREVIEW = 10


def _template(request: HttpRequest, name: str, partial: str) -> str:
    path = f"destinations/kinesis/{name}"
    return f"{path}#{partial}" if request.htmx else path


# --- Step 1: authenticate -------------------------------------------------


def _resume_initial(draft: ConnectionDraft) -> dict[str, Any]:
    """Step 1 prefilled from the user's draft (never the secret)."""
    if draft.verified_at is None:
        return {}
    return {
        "auth_method": draft.auth_method,
        "access_key_id": draft.access_key_id,
        "role_arn": draft.role_arn,
        "region": draft.region,
    }


@sensitive_post_parameters("secret_access_key")
@login_required
def authenticate(request: HttpRequest) -> HttpResponse:
    # A viewer only reads the page: no draft (and no external id) is made for them.
    draft = (
        services.connection_draft_current(owner=request.user)
        if user_can_edit(request.user)
        else None
    )
    external_id = draft.external_id if draft else ""
    verified: services.Verified | None = None
    if request.method != "POST":
        initial = _resume_initial(draft) if draft else {}
        form = AuthenticateForm(initial=initial, external_id=external_id)
    else:
        form = AuthenticateForm(request.POST, external_id=external_id)
        if form.is_valid():
            try:
                verified = services.connection_draft_verify(
                    owner=request.user, credentials=form.credentials(), draft=draft
                )
            except kinesis.KinesisError as exc:
                form.add_error(services.refused_field(exc), translate(exc.message))
        if verified is not None and not request.htmx:
            return redirect("destinations:connect_details", draft_id=verified.draft.pk)
    done = verified.draft if verified else None
    context = {
        "form": form,
        "draft": done,
        "account_note": translate(verified.note) if verified else "",
        # An earlier verified draft, offered to continue instead of connecting again.
        "resume": draft if draft and draft.verified_at and done is None else None,
        "steps": progress(Step.AUTHENTICATE),
        "stream_preview": done.stream_names[:STREAM_PREVIEW] if done else [],
    }
    return render(request, _template(request, "authenticate.html", "auth_panel"), context)


@login_required
@require_GET
def trust_policy_snippet(request: HttpRequest) -> HttpResponse:
    """The trust policy a role needs, with the wizard's own external id."""
    draft = selectors.connection_draft_latest(owner=request.user)
    policy = trust_policy(
        platform_principal=kinesis.platform_principal() or "",
        external_id=draft.external_id if draft else "",
    )
    return render(
        request,
        "destinations/kinesis/authenticate.html#trust_policy",
        {"trust_policy_json": as_json(policy)},
    )


@login_required
@require_POST
def discard_draft(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Drop an unfinished connection (offered on the catalog and the destinations page)."""
    draft = selectors.connection_draft_get(owner=request.user, draft_id=draft_id)
    services.connection_draft_discard(draft=draft)
    messages.success(request, gettext("Discarded the unfinished connection and its credentials."))
    back = request.POST.get("next", "")
    return redirect(
        back if back in {reverse("catalog"), reverse("destinations:list")} else "catalog"
    )


def _draft_or_connection(request: HttpRequest, draft_id: UUID) -> ConnectionDraft:
    """The wizard's draft; once saved, a Detour to the connection it became."""
    connection = selectors.connection_from_draft(owner=request.user, draft_id=draft_id)
    if connection is not None:
        messages.info(
            request, gettext("“%(name)s” is already saved; here it is.") % {"name": connection.name}
        )
        url = reverse("destinations:detail", args=[connection.pk])
        raise Detour(HttpResponseClientRedirect(url) if request.htmx else redirect(url))
    return selectors.connection_draft_get(owner=request.user, draft_id=draft_id)


# --- Step 2: destination details -----------------------------------------


@login_required
@with_object(_draft_or_connection)
def details(request: HttpRequest, draft: ConnectionDraft) -> HttpResponse:
    initial = {"stream_name": draft.stream_names[0]} if len(draft.stream_names) == 1 else {}
    form = DetailsForm(
        request.POST or None,
        owner=request.user,
        known_streams=draft.stream_names,
        initial={**initial, "alerts_enabled": True},
    )
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_create_from_draft(draft=draft, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            # The page runs the check and shows its progress itself: no stale "checking" note.
            messages.success(
                request, gettext("“%(name)s” is connected.") % {"name": connection.name}
            )
            return redirect(reverse("destinations:detail", args=[connection.pk]) + "?new=1")
    context = {
        "form": form,
        "draft": draft,
        "steps": progress(Step.DETAILS),
        "page": selectors.stream_page(draft.stream_names),
        "query": "",
    }
    return render(request, "destinations/kinesis/details.html", context)


@login_required
@with_object(_draft_or_connection)
def streams(request: HttpRequest, draft: ConnectionDraft) -> HttpResponse:
    """The stream picker's results: search and pages over ListStreams (POST lists again)."""
    error = ""
    if request.method == "POST":
        try:
            services.connection_draft_refresh_streams(draft=draft)
        except kinesis.KinesisError as exc:
            error = translate(exc.message)
    query = request.GET.get("q", request.POST.get("q", ""))[:128]
    context = {
        "draft": draft,
        "page": selectors.stream_page(
            draft.stream_names, query=query, page=request.GET.get("page")
        ),
        "query": query,
        "stream_error": error,
    }
    return render(request, "destinations/kinesis/details.html#stream_results", context)


# --- Step 3 and later: the connection page --------------------------------


def _detail_context(connection: Connection, **extra: Any) -> dict[str, Any]:
    stored = CheckReport.from_dict(connection.check_report)
    report = stored.translated() if stored else None
    stream = (report.stream if report else None) or {}
    account_id = connection.aws_account_id or (report.account_id if report else "")
    policy = minimal_policy(
        region=connection.region,
        account_id=account_id,
        stream_name=connection.stream_name,
        kms_key_id=stream.get("key_id", "") if stream.get("encryption") == "KMS" else "",
    )
    return {
        "connection": connection,
        "report": report,
        "stream": stream,
        "account_id": account_id,
        "policy_json": as_json(policy),
        "steps": progress(Step.CHECK),
        "dataflow_count": getattr(connection, "dataflow_count", 0),
        **connection_live_context(connection=connection),
        **extra,
    }


@login_required
@require_GET
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(pk=pk)
    context = _detail_context(connection, show_steps=request.GET.get("new") == "1")
    return render(request, "destinations/kinesis/detail.html", context)


@login_required
@require_POST
def run_check(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(pk=pk)
    services.connection_run_check(connection=connection)
    if not request.htmx:
        return redirect("destinations:detail", pk=pk)
    return render(request, "destinations/kinesis/check_result.html", _detail_context(connection))


@login_required
@require_POST
def send_test_record(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(pk=pk)
    writes = services.connection_send_test_record(connection=connection)
    context = _detail_context(connection, test_writes=writes, oob=True)
    if not request.htmx:
        return render(request, "destinations/kinesis/detail.html", {**context, "oob": False})
    return render(request, "destinations/kinesis/test_record_result.html", context)


@sensitive_post_parameters("secret_access_key")
@login_required
@editor_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(pk=pk)
    form = EditForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            rotated = services.connection_update(
                connection=connection,
                credentials=form.new_credentials(),
                **form.destination_fields(),
            )
        except kinesis.KinesisError as exc:
            form.add_error(services.refused_field(exc), translate(exc.message))
        except ServiceError as exc:
            form.add_error(exc.field, exc.message)
        else:
            if rotated:
                text = gettext(
                    "Saved “%(name)s”. New credentials verified; the permission check runs again."
                )
            else:
                text = gettext("Saved “%(name)s”.")
            messages.success(request, text % {"name": connection.name})
            return redirect("destinations:detail", pk=pk)
    return render(
        request, "destinations/kinesis/edit.html", {"form": form, "connection": connection}
    )
