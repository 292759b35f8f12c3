from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts.models import Alert
from alerts.selectors import alerts_for_user, alerts_menu
from alerts.services import alert_dismiss, alerts_mark_read

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
    """The notifications menu on its own, for htmx refreshes."""
    return render(request, "alerts/menu.html", alerts_menu(user=request.user))


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
