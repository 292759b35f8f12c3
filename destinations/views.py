from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from destinations import selectors, services
from destinations.catalog import CATALOG


@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    context = {
        "destination_types": CATALOG,
        "resume_draft": selectors.connection_draft_resumable(owner=request.user),
    }
    return render(request, "destinations/catalog.html", context)


@login_required
def connection_list(request: HttpRequest) -> HttpResponse:
    connections = selectors.connection_list()
    context = {
        "connections": connections,
        "resume_draft": selectors.connection_draft_resumable(owner=request.user),
    }
    return render(request, "destinations/connection_list.html", context)


@login_required
@require_POST
def connection_delete(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(pk=pk)
    name = connection.name
    try:
        services.connection_delete(connection=connection)
    except services.ConnectionInUse as exc:
        messages.error(request, str(exc))
        return redirect("destinations:detail", pk=pk)
    messages.success(request, f"Deleted the destination “{name}”.")
    return redirect("destinations:list")
