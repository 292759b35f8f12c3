"""GET /api/v1/connectionSpecs: the destination catalog, with each type's auth and
target parameters as JSON Schema."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from api.schemas import ConnectionSpecListOut, ConnectionSpecOut
from core.api_errors import ApiError, ErrorOut
from destinations.catalog import CATALOG, DestinationType
from destinations.kinesis import aws as kinesis
from destinations.kinesis.forms import EXTERNAL_ID_RE, KEY_ID_RE, ROLE_ARN_RE, STREAM_NAME_RE

router = Router(tags=["connectionSpecs"])

SPEC_VERSION = "1.0"


def _region() -> dict[str, Any]:
    return {"type": "string", "enum": kinesis.kinesis_regions(), "description": "AWS region"}


def kinesis_auth_spec() -> list[dict[str, Any]]:
    return [
        {
            "name": "Access Key",
            "type": "KeyBased",
            "spec": {
                "type": "object",
                "required": ["accessKeyId", "secretKey", "region"],
                "properties": {
                    "accessKeyId": {"type": "string", "pattern": KEY_ID_RE.pattern},
                    "secretKey": {
                        "type": "string",
                        "writeOnly": True,
                        "description": "Encrypted at rest, never returned.",
                    },
                    "region": _region(),
                },
            },
        },
        {
            "name": "IAM Role",
            "type": "RoleBased",
            "spec": {
                "type": "object",
                "required": ["roleArn", "externalId", "region"],
                "description": "Assumed through STS; the safer alternative to access keys.",
                "properties": {
                    "roleArn": {"type": "string", "pattern": ROLE_ARN_RE.pattern},
                    "externalId": {"type": "string", "pattern": EXTERNAL_ID_RE.pattern},
                    "region": _region(),
                },
            },
        },
    ]


def kinesis_target_spec() -> dict[str, Any]:
    return {
        "name": "Kinesis data stream",
        "spec": {
            "type": "object",
            "required": ["stream"],
            "properties": {
                "stream": {"type": "string", "pattern": STREAM_NAME_RE.pattern},
                "includeSegmentNames": {"type": "boolean", "default": False},
                "includeSegmentTimestamps": {"type": "boolean", "default": False},
                "alertsEnabled": {"type": "boolean", "default": True},
            },
        },
    }


def spec_of(entry: DestinationType) -> dict[str, Any]:
    return {
        "id": entry.key,
        "name": entry.name,
        "description": entry.summary,
        "beta": entry.beta,
        "docs_url": entry.docs_url,
        "version": SPEC_VERSION,
        "auth_spec": kinesis_auth_spec(),
        "target_spec": kinesis_target_spec(),
    }


@router.get("", response=ConnectionSpecListOut, by_alias=True, summary="List destination types")
def connection_spec_list(request: HttpRequest) -> dict:
    return {"items": [spec_of(entry) for entry in CATALOG]}


@router.get(
    "/{spec_id}",
    response={200: ConnectionSpecOut, 404: ErrorOut},
    by_alias=True,
    summary="Read one destination type",
)
def connection_spec_detail(request: HttpRequest, spec_id: str) -> dict:
    for entry in CATALOG:
        if entry.key == spec_id:
            return spec_of(entry)
    raise ApiError(404, "not_found", f"There is no connection spec “{spec_id[:100]}”.")
