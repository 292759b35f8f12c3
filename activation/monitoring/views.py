from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from activation.models import Dataflow


@login_required
def dataflow_list(request: HttpRequest) -> HttpResponse:
    dataflows = Dataflow.objects.select_related("connection").annotate(
        segment_count=Count("mapped_segments")
    )
    return render(request, "activation/monitoring/dataflow_list.html", {"dataflows": dataflows})


@login_required
def dataflow_detail(request: HttpRequest, dataflow_id: int) -> HttpResponse:
    dataflow = get_object_or_404(Dataflow, pk=dataflow_id)
    return render(request, "activation/monitoring/dataflow_list.html", {"dataflows": [dataflow]})
