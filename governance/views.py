"""The Data governance page: everyone reads; Admins label paths and namespaces, add labels
and marketing actions, and create, edit, enable and disable policies."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from core.roles import user_is_admin
from governance import selectors, services
from governance.forms import (
    AssignForm,
    ConsentPolicyForm,
    LabelForm,
    MarketingActionForm,
    PolicyForm,
)
from governance.models import (
    AssignmentTarget,
    ConsentPolicy,
    DataUsagePolicy,
    LabelAssignment,
    MarketingAction,
)

ADMINS_ONLY = gettext_lazy("Only Admins change data governance.")


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not user_is_admin(request.user):
            return render(request, "core/forbidden.html", {"message": ADMINS_ONLY}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    context = {
        "paths": selectors.path_rows(),
        "namespaces": selectors.namespace_rows(),
        "usages": selectors.label_usage(),
        "policies": DataUsagePolicy.objects.select_related("marketing_action").prefetch_related(
            "labels"
        ),
        "consent_policies": ConsentPolicy.objects.prefetch_related("marketing_actions"),
        "actions": MarketingAction.objects.all(),
        "is_admin": user_is_admin(request.user),
        "label_form": LabelForm(),
        "action_form": MarketingActionForm(),
    }
    return render(request, "governance/overview.html", context)


@login_required
@admin_required
def labels_edit(request: HttpRequest) -> HttpResponse:
    """The labels of one path or namespace (?type=attribute|namespace&target=...)."""
    source = request.POST if request.method == "POST" else request.GET
    target_type = source.get("target_type", AssignmentTarget.ATTRIBUTE)
    target = source.get("target", "")
    initial = {
        "target_type": target_type,
        "target": target,
        "labels": list(
            LabelAssignment.objects.filter(target_type=target_type, target=target).values_list(
                "label__code", flat=True
            )
        ),
    }
    form = AssignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.labels_set(
            target_type=data["target_type"], target=data["target"], labels=list(data["labels"])
        )
        messages.success(request, gettext("Saved the labels of %(target)s.") % data)
        return redirect("governance:overview")
    return render(request, "governance/labels_edit.html", {"form": form})


@login_required
@admin_required
@require_POST
def label_create(request: HttpRequest) -> HttpResponse:
    return _create(
        request, LabelForm(request.POST), services.label_create, gettext("Label %(code)s created.")
    )


@login_required
@admin_required
@require_POST
def action_create(request: HttpRequest) -> HttpResponse:
    form = MarketingActionForm(request.POST)
    return _create(
        request,
        form,
        services.marketing_action_create,
        gettext("Marketing action %(code)s created."),
    )


def _create(
    request: HttpRequest, form: Any, create: Callable[..., Any], created_text: str
) -> HttpResponse:
    """The overview's small create forms: a message either way, back to the overview."""
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("governance:overview")
    try:
        created = create(**form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, created_text % {"code": created.code})
    return redirect("governance:overview")


def _form_problem(form: object) -> str:
    fields = form.fields  # type: ignore[attr-defined]
    return "; ".join(
        f"{fields[k].label if k in fields else k}: {' '.join(v)}"
        for k, v in form.errors.items()  # type: ignore[attr-defined]
    )


@login_required
@admin_required
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(DataUsagePolicy, pk=pk) if pk else None
    form = PolicyForm.for_policy(policy, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.policy_save(policy=policy, **{**data, "labels": list(data["labels"])})
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, gettext("Saved the policy “%(name)s”.") % {"name": saved.name}
            )
            return redirect("governance:overview")
    return render(request, "governance/policy_form.html", {"form": form, "policy": policy})


@login_required
@admin_required
@require_POST
def policy_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(DataUsagePolicy, pk=pk)
    services.policy_set_enabled(policy=policy, enabled=not policy.enabled)
    if policy.enabled:
        text = gettext("Policy “%(name)s” enabled.")
    else:
        text = gettext("Policy “%(name)s” disabled.")
    messages.success(request, text % {"name": policy.name})
    return redirect("governance:overview")


@login_required
@admin_required
def consent_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(ConsentPolicy, pk=pk) if pk else None
    form = ConsentPolicyForm.for_policy(policy, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.consent_policy_save(
                policy=policy, **{**data, "marketing_actions": list(data["marketing_actions"])}
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, gettext("Saved the consent policy “%(name)s”.") % {"name": saved.name}
            )
            return redirect("governance:overview")
    return render(request, "governance/consent_form.html", {"form": form, "policy": policy})
