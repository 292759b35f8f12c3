from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from destinations import selectors, services
from destinations.catalog import CATALOG, get_destination_type


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


@login_required
def destination_docs(request: HttpRequest, key: str) -> HttpResponse:
    """The catalog card's "Documentation": what this destination needs and does."""
    import json

    from activation.export.batching import MAX_BATCH_BYTES, MAX_BATCH_RECORDS
    from activation.export.records import MAX_RECORD_BYTES
    from activation.monitoring.selectors import EXCLUDED_RATE_THRESHOLD
    from activation.services import SOFT_ATTRIBUTE_LIMIT
    from destinations.kinesis.policy import as_json, minimal_policy

    destination = get_destination_type(key)
    if destination is None:
        raise Http404("No such destination in the catalog.")
    example = minimal_policy(
        region="eu-north-1", account_id="123456789012", stream_name="your-stream"
    )
    context = {
        "destination": destination,
        "policy_json": as_json(example),
        "record_json": json.dumps(EXAMPLE_RECORD, indent=2),
        "max_record_mib": MAX_RECORD_BYTES // (1024 * 1024),
        "max_batch_records": MAX_BATCH_RECORDS,
        "max_batch_mib": MAX_BATCH_BYTES // (1024 * 1024),
        "soft_attribute_limit": SOFT_ATTRIBUTE_LIMIT,
        "excluded_rate_percent": round(EXCLUDED_RATE_THRESHOLD * 100),
    }
    return render(request, destination.docs_template, context)


# The record of the spec (SPEC §3), shown on the documentation page.
EXAMPLE_RECORD = {
    "_id": "5f0c8e8e1b7a4b0f9a4e2d6c3b1a0f9e",
    "person": {"birthDate": "1990-05-25", "name": {"firstName": "John", "lastName": "Doe"}},
    "personalEmail": {"address": "john.doe@acme.com"},
    "segmentMembership": {
        "ups": {
            "7841ba61-23c1-4bb3-a495-00d3a5fe1e93": {
                "lastQualificationTime": "2020-05-25T21:24:39Z",
                "status": "exited",
            },
            "59bd2f4d-3c48-4b18-bf56-4f5c5e6967ae": {
                "lastQualificationTime": "2020-05-25T23:37:33Z",
                "status": "existing",
            },
        }
    },
    "identityMap": {
        "ecid": [{"id": "14575006536349286404619648085736425115"}],
        "email_lc_sha256": [
            {"id": "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"}
        ],
    },
}
