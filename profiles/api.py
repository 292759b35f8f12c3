"""Streaming ingestion API: POST /api/v1/profiles, and profile lookups.

A body is one record or a JSON array of up to 1,000 records (see
profiles/records.py for the record shape). Each record is validated and
written on its own terms: a bad record is reported and the good ones are
written. The answer lists every record's result in order:

* 200 every record was written; 207 some were, some were rejected;
* 400 (409 when every rejection is an identity conflict) nothing was written:
  the body then also carries the error format's ``error`` object, whose
  ``fields`` name each record (``[3].identityMap.foo``) for a batch.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from core.api_errors import ApiError, ErrorDetail, ErrorOut
from core.gc_pause import gc_paused
from core.input_policy import parse_json
from profiles.models import Profile
from profiles.records import RecordError
from profiles.selectors import namespace_codes, parse_identity_query, profile_document
from profiles.services import MAX_BATCH, RecordResult, profiles_upsert

router = Router(tags=["profiles"])


class RecordResultOut(Schema):
    index: int
    status: str = Field(description="created, updated or error")
    profile_id: int | None = Field(None, serialization_alias="profileId")
    error: ErrorDetail | None = None


class UpsertOut(Schema):
    results: list[RecordResultOut]
    created: int
    updated: int
    failed: int


class UpsertErrorOut(UpsertOut):
    error: ErrorDetail


class ProfileOut(Schema):
    id: int
    identity_map: dict[str, list[dict[str, str]]] = Field(alias="identityMap")
    attributes: dict[str, Any]
    segment_membership: dict[str, Any] = Field(alias="segmentMembership")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class ProfileListOut(Schema):
    results: list[ProfileOut]


_IDENTITY = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "maxLength": 512},
        "primary": {"type": "boolean"},
        "authenticatedState": {"type": "string"},
        "remove": {"type": "boolean", "description": "detach this identity from the profile"},
    },
    "additionalProperties": False,
}
_RECORD = {
    "type": "object",
    "required": ["identityMap"],
    "properties": {
        "identityMap": {
            "type": "object",
            "description": "namespace (ecid, email, phone, crmid or a registered one) -> ids",
            "additionalProperties": {"type": "array", "items": _IDENTITY, "minItems": 1},
        },
        "attributes": {
            "type": "object",
            "description": "nested attributes to merge; null removes an attribute",
        },
    },
    "additionalProperties": False,
    "example": {
        "identityMap": {"email": [{"id": "john.doe@acme.com"}], "crmid": [{"id": "C-1001"}]},
        "attributes": {
            "person": {"name": {"firstName": "John", "lastName": "Doe"}},
            "personalEmail": {"address": "john.doe@acme.com"},
        },
    },
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _RECORD,
                        {"type": "array", "items": _RECORD, "minItems": 1, "maxItems": MAX_BATCH},
                    ]
                }
            }
        },
    }
}


@router.post(
    "",
    response={200: UpsertOut, 207: UpsertOut, 400: UpsertErrorOut | ErrorOut, 409: UpsertErrorOut},
    by_alias=True,
    openapi_extra=_BODY,
    summary="Upsert one profile or a batch of up to 1,000",
)
def profiles_upsert_endpoint(request: HttpRequest) -> HttpResponse:
    # Paused from the parse on: the batch's records live until the answer is built.
    with gc_paused():
        records, batch = _records_from_body(request)
        results = profiles_upsert(records=records, source="api")
        status, body = _answer(results, batch=batch)
    # Built directly (the schemas above document it): validating 1,000 result
    # objects through pydantic again would cost a tenth of the request.
    return JsonResponse(body, status=status)


def _records_from_body(request: HttpRequest) -> tuple[list[Any], bool]:
    if not request.body.strip():
        raise ApiError(400, "empty_body", "Send one profile record or a JSON array of records.")
    # Only the syntax here (an InputError is answered by config/api.py as a 400): each
    # record meets the input policy in parse_record, so one record with NaN or a lone
    # surrogate is refused on its own ([3].attributes.name) and the others are written.
    data = parse_json(request.body, check=False)
    if isinstance(data, dict):
        return [data], False
    if not isinstance(data, list):
        raise ApiError(400, "invalid_body", "The body must be a record object or an array of them.")
    if not data:
        raise ApiError(400, "empty_batch", "The batch is empty.", {"body": "has no records"})
    if len(data) > MAX_BATCH:
        raise ApiError(
            400,
            "too_many_records",
            f"A batch holds at most {MAX_BATCH} records; this one has {len(data)}.",
            {"body": f"has {len(data)} records; at most {MAX_BATCH}"},
        )
    return data, True


def _answer(results: list[RecordResult], *, batch: bool) -> tuple[int, dict]:
    body = {
        "results": [
            {
                "index": r.index,
                "status": r.status,
                "profileId": r.profile_id,
                "error": r.error.as_dict() if r.error else None,
            }
            for r in results
        ],
        "created": sum(r.status == "created" for r in results),
        "updated": sum(r.status == "updated" for r in results),
        "failed": sum(not r.ok for r in results),
    }
    failed = [r for r in results if r.error is not None]
    if not failed:
        return 200, body
    if len(failed) < len(results):
        return 207, body
    body["error"] = _summary(failed, batch=batch).as_dict()
    conflicts = all(r.error.code == "identity_conflict" for r in failed)
    return (409 if conflicts else 400), body


def _summary(failed: list[RecordResult], *, batch: bool) -> RecordError:
    if not batch:
        return failed[0].error
    fields = {
        f"[{r.index}].{location}": problem
        for r in failed
        for location, problem in (r.error.fields or {"record": r.error.message}).items()
    }
    return RecordError("invalid_records", f"None of the {len(failed)} records was written.", fields)


@router.get("", response=ProfileListOut, by_alias=True, summary="Find a profile by identity")
def profiles_find(
    request: HttpRequest,
    identity: str = Query(..., description="namespace:value, e.g. email:john.doe@acme.com"),
) -> dict:
    parsed = parse_identity_query(identity)
    if parsed is None:
        raise ApiError(
            400, "invalid_input", "Use namespace:value.", {"identity": "use namespace:value"}
        )
    if parsed[0] not in namespace_codes():
        message = f"unknown identity namespace '{parsed[0]}'"
        raise ApiError(400, "invalid_input", message, {"identity": message})
    profiles = Profile.objects.filter(
        identities__namespace=parsed[0], identities__value=parsed[1]
    ).prefetch_related("identities")
    return {"results": [profile_document(p) for p in profiles]}


@router.get("/{profile_id}", response=ProfileOut, by_alias=True, summary="Read one profile")
def profile_read(request: HttpRequest, profile_id: int) -> dict:
    profile = get_object_or_404(Profile.objects.prefetch_related("identities"), pk=profile_id)
    return profile_document(profile)
