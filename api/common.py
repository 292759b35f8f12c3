"""Helpers shared by the API routers: ETags and If-Match, pages, error mapping."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema

from core.api_errors import ApiError
from core.service_errors import ServiceError

MAX_LIMIT = 500


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=10**9)


def page_of(queryset: QuerySet, params: PageParams) -> tuple[list, dict]:
    """One page of the queryset and the `_page` object describing it."""
    count = queryset.count()
    items = list(queryset[params.offset : params.offset + params.limit])
    return items, {"count": count, "limit": params.limit, "offset": params.offset}


def etag_of(content: Any) -> str:
    """A strong ETag over the editable content of an object."""
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def require_if_match(request: HttpRequest, current: str, *, what: str) -> None:
    """Refuse a change made against an older version: 428 without If-Match, 412 when stale."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise ApiError(
            428,
            "precondition_required",
            f"Send If-Match with the ETag of the {what} (from GET) so a concurrent edit "
            "is never overwritten.",
            {"If-Match": "required"},
        )
    check_if_match(request, current, what=what)


def check_if_match(request: HttpRequest, current: str, *, what: str) -> None:
    """When If-Match is sent, it must name the current version (or be *)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" in tags or current in tags:
        return
    raise ApiError(
        412,
        "precondition_failed",
        f"The {what} changed since you read it (its ETag is now {current}). "
        "GET it again, re-apply your change and retry with the new ETag.",
        {"If-Match": "does not match the current ETag"},
    )


def form_errors(form_errors: Mapping[str, list], field_map: Mapping[str, str]) -> ApiError:
    """A Django form's errors as a 400, with the API's field names."""
    fields: dict[str, str] = {}
    for name, messages in form_errors.items():
        location = field_map.get(name, "body" if name == "__all__" else name)
        fields.setdefault(location, " ".join(str(m) for m in messages))
    first = next(iter(fields.items()))
    return ApiError(400, "invalid_input", f"{first[0]}: {first[1]}", fields)


def validation_error(
    exc: DjangoValidationError, *, field: str, field_map: Mapping[str, str] | None = None
) -> ApiError:
    """A service's ValidationError as a 400 on its own fields (named as `field_map` says),
    or on `field` when it names none."""
    if hasattr(exc, "error_dict"):
        names = field_map or {}
        fields: dict[str, str] = {}
        for key, msgs in exc.message_dict.items():
            location = names.get(key, field if key == "__all__" else key)
            text = " ".join(str(m) for m in msgs)
            fields[location] = f"{fields[location]} {text}" if location in fields else text
    else:
        fields = {field: " ".join(exc.messages)}
    first = next(iter(fields.items()))
    return ApiError(400, "invalid_input", f"{first[0]}: {first[1]}", fields)


# A ServiceError's code decides the status; any other code is bad input (400).
SERVICE_ERROR_STATUS = {"not_found": 404, "conflict": 409}


def service_error(
    exc: ServiceError | DjangoValidationError, field_map: Mapping[str, str]
) -> ApiError:
    """A service's refusal as the API's error, its field named as the API names it.

    `field_map` maps the services' field names ("segments", "partition_key", …) to
    the API's ("segmentSelectors", "partitionKey", …); a field it does not list
    keeps its name, and a refusal about no one field is about the "body" when it
    is bad input.
    """
    if isinstance(exc, DjangoValidationError):
        return validation_error(exc, field="body", field_map=field_map)
    status = SERVICE_ERROR_STATUS.get(exc.code, 400)
    field = field_map.get(exc.field, exc.field) if exc.field else None
    if status == 400:
        field = field or "body"
        return ApiError(400, exc.code, f"{field}: {exc.message}", {field: exc.message})
    return ApiError(status, exc.code, exc.message, {field: exc.message} if field else {})
