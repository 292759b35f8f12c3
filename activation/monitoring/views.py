from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from activation.models import Dataflow


@login_required
def dataflow_list(request: HttpRequest) -> HttpResponse:
    dataflows = Dataflow.objects.select_related("connection").annotate(
        segment_count=Count("mapped_segments")
    )
    return render(request, "activation/dataflow_list.html", {"dataflows": dataflows})
