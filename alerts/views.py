from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts.models import Alert
from alerts.selectors import alerts_for_user, alerts_menu, alerts_menu_version
from alerts.services import alert_dismiss, alerts_mark_read
from core.live import live_response

STATES = {"open": "Open", "resolved": "Resolved", "all": "All"}


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    if state not in STATES:
        state = "open"
    page = Paginator(alerts_for_user(user=request.user, state=state), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request, "alerts/alert_list.html", {"page": page, "state": state, "states": STATES}
    )


@login_required
def alert_menu(request: HttpRequest) -> HttpResponse:
    """The topbar's live poll: 204 while nothing changed, else the menu's parts."""
    # Dismiss buttons return to the page the menu is on, not to this URL.
    next_url = request.htmx.current_url_abs_path if request.htmx else None
    return live_response(
        request,
        version=alerts_menu_version(user=request.user),
        render=lambda: render(
            request,
            "alerts/menu_live.html",
            {**alerts_menu(user=request.user), "next_url": next_url or ""},
        ),
    )


@login_required
@require_POST
def alert_menu_read(request: HttpRequest) -> HttpResponse:
    alerts_mark_read(user=request.user)
    return HttpResponse(status=204)


@login_required
@require_POST
def alert_dismiss_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id, recipient=request.user)
    alert_dismiss(alert=alert, user=request.user)
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("alerts:list")
