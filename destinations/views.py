from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from destinations.catalog import CATALOG
from destinations.models import Connection


@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    return render(request, "destinations/catalog.html", {"destination_types": CATALOG})


@login_required
def connection_list(request: HttpRequest) -> HttpResponse:
    connections = Connection.objects.filter(owner=request.user).annotate(
        dataflow_count=Count("dataflows")
    )
    return render(request, "destinations/connection_list.html", {"connections": connections})


@login_required
def connect(request: HttpRequest) -> HttpResponse:
    return render(request, "destinations/connect_placeholder.html")
