"""GET /api/v1/segments: the audiences a dataflow can activate, with their size."""

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router

from activation.selectors import segment_sizes
from api.common import PageParams, page_of
from api.schemas import SegmentListOut
from profiles.models import Segment

router = Router(tags=["segments"])


class SegmentFilters(PageParams):
    q: str = Field("", max_length=200, description="Part of the name or description")


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


@router.get("", response=SegmentListOut, by_alias=True, summary="List segments")
def segment_list(request: HttpRequest, filters: Query[SegmentFilters]) -> dict:
    segments = Segment.objects.order_by("name", "pk")
    if query := filters.q.strip():
        segments = segments.filter(Q(name__icontains=query) | Q(description__icontains=query))
    items, meta = page_of(segments, filters)
    sizes = segment_sizes(segment_ids=[s.pk for s in items])
    return {"items": [segment_out(s, sizes.get(s.pk, 0)) for s in items], "page": meta}
