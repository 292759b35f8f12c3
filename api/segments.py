"""/api/v1/segments: the audiences a dataflow can activate, with their size and the
dataflows that export them; a rule change or a delete can be previewed (dryRun)."""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from api.common import PageParams, page_of, validation_error
from api.schemas import ApiIn, ApiOut, SegmentListOut, SegmentOut
from core.api_errors import ApiError, ErrorOut
from profiles import segments as segment_service
from profiles.models import Segment
from profiles.rules import validate_rule
from profiles.selectors import segment_sizes

router = Router(tags=["segments"])


class SegmentFilters(PageParams):
    q: str = Field("", max_length=200, description="Part of the name or description")


class DryRun(Schema):
    dry_run: bool = Field(
        False, alias="dryRun", description="Answer what the change would do; change nothing."
    )


class ExporterOut(ApiOut):
    id: int
    name: str
    state: str


class SegmentDetailOut(SegmentOut):
    rule: dict[str, Any]
    dataflows: list[ExporterOut] = Field(description="Finished dataflows exporting the segment")


class PreviewOut(ApiOut):
    leave: int = Field(description="Current members the change makes exit")
    join: int = Field(description="Profiles the change makes enter")
    records: int = Field(description="Exit and entry records the dataflows receive")
    dataflows: list[ExporterOut]
    summary: str


class SegmentChangeOut(ApiOut):
    dry_run: bool
    preview: PreviewOut
    segment: SegmentDetailOut


class SegmentDeleteOut(ApiOut):
    dry_run: bool
    dataflows: list[ExporterOut] = Field(
        description="Dataflows that stop (or would stop) exporting it"
    )


class SegmentPatchIn(ApiIn):
    name: str | None = Field(None, max_length=10_000)
    description: str | None = Field(None, max_length=100_000)
    rule: dict[str, Any] | None = None
    active: bool | None = None


def segment_out(segment: Segment, size: int) -> dict[str, Any]:
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "status": "active" if segment.active else "inactive",
        "size": size,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _exporters_out(exporters: list[segment_service.Exporter]) -> list[dict[str, Any]]:
    return [{"id": e.id, "name": e.name, "state": e.status} for e in exporters]


def segment_detail_out(segment: Segment) -> dict[str, Any]:
    size = segment_sizes(segment_ids=[segment.pk])[segment.pk]
    exporters = segment_service.segment_exporters(segment)
    return {
        **segment_out(segment, size),
        "rule": segment.rule,
        "dataflows": _exporters_out(exporters),
    }


def _segment_or_404(segment_id: str, *, lock: bool = False) -> Segment:
    # Any text reaches here (a UUID converter would leave odd paths to Django's HTML 404).
    try:
        pk = uuid.UUID(segment_id)
    except ValueError:
        pk = None
    segments = Segment.objects.select_for_update() if lock else Segment.objects
    segment = segments.filter(pk=pk).first() if pk else None
    if segment is None:
        raise ApiError(
            404,
            "not_found",
            gettext("There is no segment %(id)s.") % {"id": repr(segment_id[:100])},
        )
    return segment


@router.get("", response=SegmentListOut, by_alias=True, summary="List segments")
def segment_list(request: HttpRequest, filters: Query[SegmentFilters]) -> dict:
    segments = Segment.objects.order_by("name", "pk")
    if query := filters.q.strip():
        segments = segments.filter(Q(name__icontains=query) | Q(description__icontains=query))
    items, meta = page_of(segments, filters)
    sizes = segment_sizes(segment_ids=[s.pk for s in items])
    return {"items": [segment_out(s, sizes.get(s.pk, 0)) for s in items], "page": meta}


@router.get(
    "/{segment_id}",
    response={200: SegmentDetailOut, 404: ErrorOut},
    by_alias=True,
    summary="Read a segment, with the dataflows that export it",
)
def segment_detail(request: HttpRequest, segment_id: str) -> dict:
    return segment_detail_out(_segment_or_404(segment_id))


@router.patch(
    "/{segment_id}",
    response={200: SegmentChangeOut, 400: ErrorOut, 404: ErrorOut},
    by_alias=True,
    summary="Change a segment (dryRun=true previews who leaves and joins)",
    description=(
        "Fields present replace the current ones. A new rule re-evaluates every profile: "
        "members who no longer qualify exit and new ones enter, and every dataflow that "
        "exports the segment receives those records. With dryRun=true nothing is saved and "
        "the answer says how many members leave and join and which dataflows get the records."
    ),
)
def segment_update(
    request: HttpRequest, segment_id: str, payload: SegmentPatchIn, flags: Query[DryRun]
) -> dict:
    with transaction.atomic():
        segment = _segment_or_404(segment_id, lock=not flags.dry_run)
        rule = segment.rule if payload.rule is None else payload.rule
        if problems := validate_rule(rule):
            message = "; ".join(str(problem) for problem in problems)
            raise ApiError(400, "invalid_input", f"rule: {message}", {"rule": message})
        active = segment.active if payload.active is None else payload.active
        preview = segment_service.segment_change_preview(segment=segment, rule=rule, active=active)
        if not flags.dry_run:
            try:
                segment_service.segment_update(
                    segment=segment,
                    name=segment.name if payload.name is None else payload.name,
                    description=(
                        segment.description if payload.description is None else payload.description
                    ),
                    rule=rule,
                    active=active,
                )
            except ValidationError as exc:
                raise validation_error(exc, field="body") from exc
    return {
        "dry_run": flags.dry_run,
        "preview": preview.as_dict(),
        "segment": segment_detail_out(segment),
    }


@router.delete(
    "/{segment_id}",
    response={200: SegmentDeleteOut, 404: ErrorOut},
    by_alias=True,
    summary="Delete a segment (dryRun=true names the dataflows that would stop exporting it)",
)
def segment_delete(request: HttpRequest, segment_id: str, flags: Query[DryRun]) -> dict:
    with transaction.atomic():
        segment = _segment_or_404(segment_id, lock=not flags.dry_run)
        if flags.dry_run:
            exporters = segment_service.segment_exporters(segment)
        else:
            exporters = segment_service.segment_delete(segment=segment, user=request.user)
    return {"dry_run": flags.dry_run, "dataflows": _exporters_out(exporters)}
