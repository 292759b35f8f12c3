"""/api/v1/dataflows: segments activated to a connection, and their runs.

A dataflow is created and edited by activation/flows.py, which walks the
activation wizard's own services, so the API follows the same rules:
creating one walks the wizard's steps in one transaction and finishes it
(enabling it and backfilling its segments); editing one applies a copy in one
transaction (new segments are backfilled). PATCH needs If-Match with the ETag
from GET: an edit based on an older version is refused with 412. This module
only translates: JSON to the flows' input, their refusals to error answers.
"""

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Status

from activation import flows, services
from activation import selectors as wizard_selectors
from activation.models import Dataflow, ExportRun, RunStatus
from activation.monitoring.selectors import PERIODS, activation_rate
from api.common import (
    PageParams,
    check_if_match,
    etag_of,
    page_of,
    require_if_match,
    service_error,
)
from api.schemas import (
    DataflowCreateIn,
    DataflowListOut,
    DataflowOut,
    DataflowPatchIn,
    IdentitySelectorsIn,
    ProfileSelectorsIn,
    RunListOut,
)
from core.api_errors import ApiError, ErrorOut
from core.service_errors import ServiceError
from governance.api import PolicyViolationApiError
from governance.services import PolicyViolationError

router = Router(tags=["dataflows"])

ERRORS = {
    200: DataflowOut,
    201: DataflowOut,
    400: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    412: ErrorOut,
    428: ErrorOut,
}
# The services' field names (activation/services.py, activation/flows.py) as the API says them.
FIELDS = {
    "connection": "connectionId",
    "segments": "segmentSelectors",
    "attributes": "profileSelectors",
    "identities": "identitySelectors",
    "partition_key": "partitionKey",
    "name": "name",
}


def dataflows() -> QuerySet[Dataflow]:
    """Live dataflows of the workspace: wizard drafts and edit copies are not dataflows yet."""
    return (
        Dataflow.objects.live()
        .select_related("connection", "created_by")
        .prefetch_related("mapped_segments__segment", "attribute_mappings", "identity_selections")
        .order_by("-created_at", "-pk")
    )


def dataflow_or_404(dataflow_id: int) -> Dataflow:
    dataflow = dataflows().filter(pk=dataflow_id).first()
    if dataflow is None:
        raise ApiError(404, "not_found", f"There is no dataflow {dataflow_id}.")
    return dataflow


def editable_content(dataflow: Dataflow) -> dict[str, Any]:
    """What a PATCH can change: the ETag covers exactly this."""
    return {
        "name": dataflow.name,
        "state": dataflow.status,
        "connection": dataflow.connection_id,
        "segments": sorted(str(s.segment_id) for s in dataflow.mapped_segments.all()),
        "attributes": [(m.source_path, m.target_path) for m in dataflow.attribute_mappings.all()],
        "identities": [(s.namespace, s.hashed) for s in dataflow.identity_selections.all()],
        "partitionKey": dataflow.partition_key_source,
        "options": dataflow.export_only_on_value_change,
    }


def dataflow_out(dataflow: Dataflow, *, warnings: list[str] | None = None) -> dict[str, Any]:
    segments = sorted(dataflow.mapped_segments.all(), key=lambda m: (m.segment.name, m.pk))
    return {
        "id": dataflow.pk,
        "name": dataflow.name,
        "state": dataflow.status,
        "state_message": dataflow.status_message,
        "connection_id": dataflow.connection_id,
        "segment_selectors": {
            "selectors": [
                {
                    "type": "PLATFORM_SEGMENT",
                    "value": {
                        "id": m.segment_id,
                        "name": m.segment.name,
                        "mapping_created_at": m.mapping_created_at,
                        "mapping_updated_at": m.mapping_updated_at,
                    },
                }
                for m in segments
            ]
        },
        "profile_selectors": {
            "selectors": [
                {
                    "type": "JSON_PATH",
                    "value": {
                        "path": m.source_path,
                        "target_path": m.exported_path,
                        "operator": "EXISTS",
                    },
                }
                for m in dataflow.attribute_mappings.all()
            ]
        },
        "identity_selectors": {
            "selectors": [
                {"namespace": s.namespace, "hashed": s.hashed, "exported_as": s.exported_namespace}
                for s in dataflow.identity_selections.all()
            ]
        },
        "partition_key": {"source": dataflow.partition_key_source},
        "options": {"export_only_on_value_change": dataflow.export_only_on_value_change},
        "last_activity_at": dataflow.last_activity_at,
        "created_by": dataflow.created_by.get_username(),
        "created_at": dataflow.created_at,
        "updated_at": dataflow.updated_at,
        "etag": etag_of(editable_content(dataflow)),
        "warnings": warnings or [],
        "links": {
            "runs": f"/api/v1/dataflows/{dataflow.pk}/runs",
            "connection": f"/api/v1/connections/{dataflow.connection_id}",
        },
    }


def _respond(response: HttpResponse, dataflow_id: int, warnings: list[str]) -> dict[str, Any]:
    body = dataflow_out(dataflow_or_404(dataflow_id), warnings=warnings)
    response["ETag"] = body["etag"]
    return body


# --- turning selectors into wizard input ----------------------------------------------


def _attributes(selectors: ProfileSelectorsIn) -> list[services.AttributeSpec]:
    specs = [
        services.AttributeSpec(s.value.path.strip(), (s.value.target_path or "").strip())
        for s in selectors.selectors
    ]
    problems = {
        f"profileSelectors.selectors[{index}].value": " ".join(messages)
        for index, messages in enumerate(services.attribute_errors(specs))
        if messages
    }
    if problems:
        first = next(iter(problems.items()))
        raise ApiError(400, "invalid_input", f"{first[0]}: {first[1]}", problems)
    return specs


def _identities(selectors: IdentitySelectorsIn | None) -> list[services.IdentitySpec] | None:
    """The identities asked for; None (not given) leaves the choice to the service."""
    if selectors is None:
        return None
    return [services.IdentitySpec(s.namespace.strip(), s.hashed) for s in selectors.selectors]


def _warnings(attribute_count: int) -> list[str]:
    if attribute_count > services.SOFT_ATTRIBUTE_LIMIT:
        return [
            f"{attribute_count} attributes are mapped; more than "
            f"{services.SOFT_ATTRIBUTE_LIMIT} makes records large and slows exports."
        ]
    return []


def _refusal(exc: Exception) -> ApiError:
    """A service's refusal as the API's error (fields named as the API names them)."""
    if isinstance(exc, PolicyViolationError):
        return PolicyViolationApiError(exc)  # 422 with the violations and their chains
    if isinstance(exc, services.EditInProgressError):
        return edit_in_progress(exc.lock)
    assert isinstance(exc, (ServiceError, ValidationError))
    return service_error(exc, FIELDS)


# --- endpoints ------------------------------------------------------------------------


class DataflowFilters(PageParams):
    connection_id: int | None = Field(None, ge=1, le=2**63 - 1, alias="connectionId")
    state: Literal["enabled", "disabled", "error", "policy_violation"] | None = None


@router.get("", response=DataflowListOut, by_alias=True, summary="List dataflows")
def dataflow_list(request: HttpRequest, filters: Query[DataflowFilters]) -> dict:
    queryset = dataflows()
    if filters.connection_id is not None:
        queryset = queryset.filter(connection_id=filters.connection_id)
    if filters.state:
        queryset = queryset.filter(status=filters.state)
    items, meta = page_of(queryset, filters)
    return {"items": [dataflow_out(d) for d in items], "page": meta}


@router.post("", response=ERRORS, by_alias=True, summary="Create (activate) a dataflow")
def dataflow_create(request: HttpRequest, response: HttpResponse, payload: DataflowCreateIn):
    new = flows.NewDataflow(
        name=payload.name,
        connection_id=payload.connection_id,
        segment_ids=[s.value.id for s in payload.segment_selectors.selectors],
        attributes=_attributes(payload.profile_selectors),
        identities=_identities(payload.identity_selectors),
        partition_key=payload.partition_key.source.strip() if payload.partition_key else None,
        export_only_on_value_change=payload.options.export_only_on_value_change,
        state=payload.state,
    )
    try:
        dataflow = flows.dataflow_create(user=request.user, new=new)
    except (ServiceError, ValidationError) as exc:
        raise _refusal(exc) from exc
    return Status(201, _respond(response, dataflow.pk, _warnings(len(new.attributes))))


@router.get("/{int:dataflow_id}", response=ERRORS, by_alias=True, summary="Read a dataflow")
def dataflow_detail(request: HttpRequest, response: HttpResponse, dataflow_id: int):
    body = dataflow_out(dataflow_or_404(dataflow_id))
    response["ETag"] = body["etag"]
    return body


@router.patch(
    "/{int:dataflow_id}",
    response=ERRORS,
    by_alias=True,
    summary="Update a dataflow (If-Match required)",
    description=(
        "Fields present replace the current ones: name, state (enabled/disabled), "
        "segmentSelectors (newly mapped segments are backfilled), profileSelectors, "
        "identitySelectors, partitionKey, options. Send If-Match with the ETag from GET: "
        "412 when the dataflow changed meanwhile, 428 without it."
    ),
)
def dataflow_update(
    request: HttpRequest, response: HttpResponse, dataflow_id: int, payload: DataflowPatchIn
):
    attributes = _attributes(payload.profile_selectors) if payload.profile_selectors else None
    segments = payload.segment_selectors
    changes = flows.DataflowChanges(
        name=payload.name,
        connection_id=payload.connection_id,
        state=payload.state,
        segment_ids=[s.value.id for s in segments.selectors] if segments else None,
        attributes=attributes,
        identities=_identities(payload.identity_selectors),
        partition_key=payload.partition_key.source.strip() if payload.partition_key else None,
        export_only_on_value_change=payload.options.export_only_on_value_change
        if payload.options
        else None,
        take_over=payload.take_over,
    )

    def unchanged_since_read(locked: Dataflow) -> None:
        require_if_match(request, etag_of(editable_content(locked)), what="dataflow")

    try:
        dataflow = flows.dataflow_update(
            user=request.user,
            dataflow_id=dataflow_id,
            changes=changes,
            precondition=unchanged_since_read,
        )
    except (ServiceError, ValidationError) as exc:
        raise _refusal(exc) from exc
    count = len(attributes) if attributes is not None else dataflow.attribute_mappings.count()
    return _respond(response, dataflow_id, _warnings(count))


def edit_in_progress(lock: wizard_selectors.EditLock) -> ApiError:
    """409 for a dataflow someone is editing in the wizard: who, since when, what to do."""
    since = lock.since.isoformat().replace("+00:00", "Z")
    last = lock.last_change.isoformat().replace("+00:00", "Z")
    url = f"/api/v1/dataflows/{lock.draft.edit_of_id}/edit"
    return ApiError(
        409,
        "edit_in_progress",
        f"{lock.editor.get_username()} has been editing this dataflow in the activation "
        f"wizard since {since} (last change {last}). Send the request again with "
        f'"takeOver": true to discard that edit and apply yours, or DELETE {url} to discard '
        f"it; {lock.editor.get_username()} is told either way.",
        {"takeOver": f"edit in progress by {lock.editor.get_username()} since {since}"},
    )


@router.delete(
    "/{int:dataflow_id}/edit",
    response={204: None, 404: ErrorOut},
    summary="Discard the unfinished wizard edit of a dataflow (its editor is told)",
)
def dataflow_edit_discard(request: HttpRequest, dataflow_id: int):
    dataflow = dataflow_or_404(dataflow_id)
    services.dataflow_edit_discard(dataflow=dataflow, user=request.user)
    return Status(204, None)


@router.delete(
    "/{int:dataflow_id}",
    response={204: None, 404: ErrorOut, 412: ErrorOut},
    summary="Delete a dataflow (its runs and delivery log go with it)",
)
def dataflow_delete(request: HttpRequest, dataflow_id: int):
    with transaction.atomic():
        dataflow = dataflows().select_for_update(of=("self",)).filter(pk=dataflow_id).first()
        if dataflow is None:
            raise ApiError(404, "not_found", f"There is no dataflow {dataflow_id}.")
        check_if_match(request, etag_of(editable_content(dataflow)), what="dataflow")
        services.dataflow_delete(dataflow=dataflow, user=request.user)
    return Status(204, None)


# --- runs -----------------------------------------------------------------------------


class RunFilters(PageParams):
    period: Literal["24h", "7d", "30d"] | None = Field(None, description="Runs of this period")
    status: Literal["processing", "success", "partial", "failed"] | None = None
    failures_only: bool = Field(False, alias="failuresOnly")


def run_out(run: ExportRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "dataflow_id": run.dataflow_id,
        "window_start": run.window_start,
        "started_at": run.started_at,
        "last_activity_at": run.last_activity_at,
        "duration_ms": run.processing_ms,
        "status": run.status,
        "metrics": {
            "profiles_received": run.profiles_received,
            "identities_activated": run.identities_activated,
            "identities_excluded": run.identities_excluded,
            "identities_failed": run.identities_failed,
            "delivered_after_retries": run.delivered_after_retries,
            "activation_rate": activation_rate(
                activated=run.identities_activated,
                excluded=run.identities_excluded,
                received=run.profiles_received,
            ),
        },
    }


@router.get(
    "/{int:dataflow_id}/runs",
    response={200: RunListOut, 404: ErrorOut},
    by_alias=True,
    summary="A dataflow's runs (one per hour window), newest first",
)
def dataflow_runs(request: HttpRequest, dataflow_id: int, filters: Query[RunFilters]) -> dict:
    dataflow = dataflow_or_404(dataflow_id)
    runs = ExportRun.objects.filter(dataflow=dataflow).order_by("-window_start", "-pk")
    if filters.period:
        runs = runs.filter(window_start__gte=timezone.now() - PERIODS[filters.period].duration)
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.failures_only:
        runs = runs.filter(status__in=[RunStatus.FAILED, RunStatus.PARTIAL])
    items, meta = page_of(runs, filters)
    return {"items": [run_out(run) for run in items], "page": meta}
