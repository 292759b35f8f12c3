from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.models import Action, ObjectType, Via
from audit.selectors import AuditFilters, audit_entries

PAGE_SIZE = 50


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Every recorded change, newest first, with filters; htmx gets the table only."""
    filters = AuditFilters.from_params(request.GET)
    page = Paginator(audit_entries(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "object_types": ObjectType.choices,
        "actions": Action.choices,
        "vias": Via.choices,
    }
    template = "audit/audit_list.html#audit-table" if request.htmx else "audit/audit_list.html"
    return render(request, template, context)
