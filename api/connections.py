"""/api/v1/connections: create, read, update (rotate credentials), delete.

Creating a connection does what the connect wizard does, through the same
services: verify the credentials live, create the connection, then run the
permission check, whose report is part of the answer (a connection whose check
fails is still created, as in the wizard, and the report says what to fix).
Validation reuses the wizard's forms, so the rules and messages are the same.
"""

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Query, Router, Status

from api.common import (
    PageParams,
    check_if_match,
    etag_of,
    form_errors,
    page_of,
    require_if_match,
    service_error,
)
from api.schemas import (
    ConnectionCreateIn,
    ConnectionListOut,
    ConnectionOut,
    ConnectionPatchIn,
)
from core.api_errors import ApiError, ErrorOut
from core.service_errors import ServiceError
from core.stored_text import translate
from destinations import selectors, services
from destinations.kinesis import aws as kinesis
from destinations.kinesis.forms import AuthenticateForm, DetailsForm, EditForm
from destinations.kinesis.permissions import CheckReport
from destinations.kinesis.policy import minimal_policy
from destinations.models import AuthMethod, Connection

router = Router(tags=["connections"])

SPEC_NAMES = {"Access Key": AuthMethod.ACCESS_KEYS, "IAM Role": AuthMethod.IAM_ROLE}
SPEC_NAME_OF = {method: name for name, method in SPEC_NAMES.items()}
FIELD_MAP = {
    "auth_method": "auth.specName",
    "access_key_id": "auth.params.accessKeyId",
    "secret_access_key": "auth.params.secretKey",
    "role_arn": "auth.params.roleArn",
    "external_id": "auth.params.externalId",
    "region": "auth.params.region",
    "stream_name": "params.stream",
    "include_segment_names": "params.includeSegmentNames",
    "include_segment_timestamps": "params.includeSegmentTimestamps",
    "alerts_enabled": "params.alertsEnabled",
    "marketing_actions": "marketingActions",
}
# Parameters of the other authentication method, refused in a PATCH.
PARAMS_OF_OTHER_METHOD = {
    AuthMethod.ACCESS_KEYS: {"role_arn": "roleArn", "external_id": "externalId"},
    AuthMethod.IAM_ROLE: {"access_key_id": "accessKeyId", "secret_key": "secretKey"},
}
ERRORS = {
    200: ConnectionOut,
    201: ConnectionOut,
    400: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    412: ErrorOut,
    428: ErrorOut,
    502: ErrorOut,
}


def connections() -> QuerySet[Connection]:
    """Every connection of the workspace: roles decide who may change them, not ownership."""
    return selectors.connection_list().order_by("name", "pk")


def connection_or_404(connection_id: int) -> Connection:
    connection = connections().filter(pk=connection_id).first()
    if connection is None:
        raise ApiError(
            404, "not_found", gettext("There is no connection %(id)s.") % {"id": connection_id}
        )
    return connection


def editable_content(connection: Connection) -> dict[str, Any]:
    """What a PATCH can change: the ETag covers exactly this."""
    return {
        "name": connection.name,
        "description": connection.description,
        "auth": [connection.auth_method, connection.access_key_id, connection.role_arn],
        "externalId": connection.external_id,
        "secretUpdatedAt": connection.secret_updated_at,
        "region": connection.region,
        "stream": connection.stream_name,
        "flags": [
            connection.include_segment_names,
            connection.include_segment_timestamps,
            connection.alerts_enabled,
        ],
        "marketingActions": _action_codes(connection),
    }


def required_policy(connection: Connection, report: CheckReport | None) -> dict[str, Any]:
    stream = (report.stream if report else None) or {}
    return minimal_policy(
        region=connection.region,
        account_id=connection.aws_account_id or (report.account_id if report else ""),
        stream_name=connection.stream_name,
        kms_key_id=stream.get("key_id", "") if stream.get("encryption") == "KMS" else "",
    )


def connection_out(connection: Connection) -> dict[str, Any]:
    stored = CheckReport.from_dict(connection.check_report)
    report = stored.translated() if stored else None  # its words in the caller's language
    return {
        "id": connection.pk,
        "name": connection.name,
        "description": connection.description,
        "connection_spec": {"id": connection.destination_type, "version": "1.0"},
        "auth": {
            "spec_name": SPEC_NAME_OF.get(connection.auth_method, connection.auth_method),
            "params": {
                "access_key_id": kinesis.mask_key_id(connection.access_key_id),
                "region": connection.region,
                "role_arn": connection.role_arn,
                "external_id": connection.external_id,
            },
            "secret_updated_at": connection.secret_updated_at,
        },
        "params": {
            "stream": connection.stream_name,
            "include_segment_names": connection.include_segment_names,
            "include_segment_timestamps": connection.include_segment_timestamps,
            "alerts_enabled": connection.alerts_enabled,
        },
        "health": {
            "status": connection.health,
            "message": translate(connection.health_message),
            "checked_at": connection.health_checked_at,
        },
        "permission_check": {
            "ok": report.ok if report else None,
            "account_id": (report.account_id if report else "") or connection.aws_account_id,
            "items": [vars(item) for item in report.items] if report else [],
            "stream": report.stream if report else None,
            "required_policy": required_policy(connection, report),
        },
        "marketing_actions": _action_codes(connection),
        "owner": connection.owner.get_username(),
        "dataflow_count": getattr(connection, "dataflow_count", 0),
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
        "etag": etag_of(editable_content(connection)),
    }


def aws_refusal(exc: kinesis.KinesisError) -> ApiError:
    """AWS said no: the caller's input (400, naming the field) or AWS being unavailable (502)."""
    if not exc.permanent:
        return ApiError(502, "aws_unavailable", translate(exc.message))
    field = FIELD_MAP.get(services.refused_field(exc) or "", "auth")
    message = translate(exc.message)  # in the caller's language; the code and field stay
    return ApiError(400, "aws_refused", message, {field: message})


def _respond(response: HttpResponse, connection: Connection) -> dict[str, Any]:
    body = connection_out(connection)
    response["ETag"] = body["etag"]
    return body


@router.get("", response=ConnectionListOut, by_alias=True, summary="List connections")
def connection_list(request: HttpRequest, page: Query[PageParams]) -> dict:
    items, meta = page_of(connections(), page)
    return {"items": [connection_out(c) for c in items], "page": meta}


@router.post("", response=ERRORS, by_alias=True, summary="Create a connection")
def connection_create(request: HttpRequest, response: HttpResponse, payload: ConnectionCreateIn):
    auth = payload.auth.params
    method = SPEC_NAMES[payload.auth.spec_name]
    auth_form = AuthenticateForm(
        {
            "auth_method": method,
            "access_key_id": auth.access_key_id or "",
            "secret_access_key": auth.secret_key or "",
            "role_arn": auth.role_arn or "",
            "external_id": auth.external_id or "",
            "region": auth.region or "",
        }
    )
    details_form = DetailsForm(
        {
            "name": payload.name,
            "description": payload.description,
            "stream_name": payload.params.stream,
            "include_segment_names": payload.params.include_segment_names,
            "include_segment_timestamps": payload.params.include_segment_timestamps,
            "alerts_enabled": payload.params.alerts_enabled,
            "marketing_actions": payload.marketing_actions or [],
        },
        owner=request.user,
    )
    auth_ok, details_ok = auth_form.is_valid(), details_form.is_valid()
    if not (auth_ok and details_ok):
        raise form_errors({**auth_form.errors, **details_form.errors}, FIELD_MAP)
    details = dict(details_form.cleaned_data)
    if payload.marketing_actions is None:
        details.pop("marketing_actions")  # the service's default: export to third party
    try:
        connection = services.connection_create(
            owner=request.user, credentials=auth_form.credentials(), **details
        )
    except kinesis.KinesisError as exc:
        raise aws_refusal(exc) from exc
    except ServiceError as exc:
        raise service_error(exc, FIELD_MAP) from exc
    return Status(201, _respond(response, connection_or_404(connection.pk)))


@router.get("/{int:connection_id}", response=ERRORS, by_alias=True, summary="Read a connection")
def connection_detail(request: HttpRequest, response: HttpResponse, connection_id: int):
    return _respond(response, connection_or_404(connection_id))


@router.patch(
    "/{int:connection_id}",
    response=ERRORS,
    by_alias=True,
    summary="Update a connection (If-Match required)",
    description=(
        "Change the name, description, toggles, or the credentials (rotation: a new "
        "secretKey, a new accessKeyId + secretKey, or a new roleArn/externalId; verified "
        "live, then the permission check runs again). The stream, region and auth method "
        "cannot change: create a new connection. Send If-Match with the ETag from GET."
    ),
)
def connection_update(
    request: HttpRequest, response: HttpResponse, connection_id: int, payload: ConnectionPatchIn
):
    with transaction.atomic():
        connection = Connection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None:
            raise ApiError(
                404, "not_found", gettext("There is no connection %(id)s.") % {"id": connection_id}
            )
        require_if_match(request, etag_of(editable_content(connection)), what="connection")
        _refuse_read_only_changes(connection, payload)
        form = EditForm(_edit_form_data(connection, payload), connection=connection)
        if not form.is_valid():
            raise form_errors(form.errors, FIELD_MAP)
        fields = {
            key: form.cleaned_data[key]
            for key in (
                "name",
                "description",
                "include_segment_names",
                "include_segment_timestamps",
                "alerts_enabled",
                "marketing_actions",
            )
        }
        try:
            rotated = services.connection_update(
                connection=connection, credentials=form.new_credentials(), **fields
            )
        except kinesis.KinesisError as exc:
            raise aws_refusal(exc) from exc
        except ServiceError as exc:
            raise service_error(exc, FIELD_MAP) from exc
    if rotated:
        services.connection_run_check(connection=connection)
    return _respond(response, connection_or_404(connection_id))


def _refuse_read_only_changes(connection: Connection, payload: ConnectionPatchIn) -> None:
    problems = {}
    if payload.params and payload.params.stream not in (None, connection.stream_name):
        problems["params.stream"] = gettext("The stream cannot change: create a new connection.")
    if payload.auth:
        region = payload.auth.params.region
        if region not in (None, connection.region):
            problems["auth.params.region"] = gettext(
                "The region cannot change: create a new connection."
            )
        spec = payload.auth.spec_name
        if spec is not None and SPEC_NAMES[spec] != connection.auth_method:
            problems["auth.specName"] = gettext(
                "The authentication method cannot change: create a new connection."
            )
        for name, camel in PARAMS_OF_OTHER_METHOD[connection.auth_method].items():
            if getattr(payload.auth.params, name):
                problems[f"auth.params.{camel}"] = gettext(
                    "This connection authenticates with %(spec)s: this parameter does not apply."
                ) % {"spec": SPEC_NAME_OF[connection.auth_method]}
    if problems:
        first = next(iter(problems.items()))
        raise ApiError(400, "read_only", f"{first[0]}: {first[1]}", problems)


def _edit_form_data(connection: Connection, payload: ConnectionPatchIn) -> dict[str, Any]:
    params = payload.params
    auth = payload.auth.params if payload.auth else None

    def pick(value: Any, current: Any) -> Any:
        return current if value is None else value

    return {
        "name": pick(payload.name, connection.name),
        "description": pick(payload.description, connection.description),
        "include_segment_names": pick(
            params and params.include_segment_names, connection.include_segment_names
        ),
        "include_segment_timestamps": pick(
            params and params.include_segment_timestamps, connection.include_segment_timestamps
        ),
        "alerts_enabled": pick(params and params.alerts_enabled, connection.alerts_enabled),
        "access_key_id": (auth and auth.access_key_id) or "",
        "secret_access_key": (auth and auth.secret_key) or "",
        "role_arn": pick(auth and auth.role_arn, connection.role_arn),
        "external_id": pick(auth and auth.external_id, connection.external_id),
        "marketing_actions": pick(payload.marketing_actions, _action_codes(connection)),
    }


def _action_codes(connection: Connection) -> list[str]:
    return sorted(connection.marketing_actions.values_list("code", flat=True))


@router.post(
    "/{int:connection_id}/permissionCheck",
    response=ERRORS,
    by_alias=True,
    summary="Run the permission check again",
)
def connection_check(request: HttpRequest, response: HttpResponse, connection_id: int):
    connection = connection_or_404(connection_id)
    services.connection_run_check(connection=connection)
    return _respond(response, connection_or_404(connection_id))


@router.delete(
    "/{int:connection_id}",
    response={204: None, 404: ErrorOut, 409: ErrorOut, 412: ErrorOut},
    summary="Delete a connection no dataflow uses",
)
def connection_delete(request: HttpRequest, connection_id: int):
    with transaction.atomic():
        connection = Connection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None:
            raise ApiError(
                404, "not_found", gettext("There is no connection %(id)s.") % {"id": connection_id}
            )
        check_if_match(request, etag_of(editable_content(connection)), what="connection")
        try:
            services.connection_delete(connection=connection)
        except services.ConnectionInUse as exc:
            raise service_error(exc, FIELD_MAP) from exc
    return Status(204, None)
