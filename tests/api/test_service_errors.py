"""api.common.service_error: the one mapping of a service's refusal to an API error."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from api.common import service_error
from core.service_errors import ServiceError

FIELDS = {"partition_key": "partitionKey", "connection": "connectionId"}


def test_bad_input_is_a_400_on_the_api_name_of_its_field() -> None:
    error = service_error(ServiceError("Not a key.", field="partition_key"), FIELDS)
    assert (error.status, error.code) == (400, "invalid_input")
    assert error.fields == {"partitionKey": "Not a key."}
    assert error.message == "partitionKey: Not a key."


def test_the_code_decides_the_status() -> None:
    missing = service_error(ServiceError("There is no dataflow 7.", code="not_found"), FIELDS)
    assert (missing.status, missing.code, missing.fields) == (404, "not_found", {})
    busy = service_error(ServiceError("In use.", code="conflict"), FIELDS)
    assert (busy.status, busy.code, busy.fields) == (409, "conflict", {})
    fixed = service_error(ServiceError("Keeps it.", field="connection", code="read_only"), FIELDS)
    assert (fixed.status, fixed.code) == (400, "read_only")
    assert fixed.fields == {"connectionId": "Keeps it."}


def test_a_refusal_about_no_field_is_about_the_body() -> None:
    error = service_error(ServiceError("Something is off."), FIELDS)
    assert error.fields == {"body": "Something is off."}


def test_a_validation_error_names_each_field() -> None:
    exc = ValidationError({"partition_key": ["Bad key."], "name": ["Too long."]})
    error = service_error(exc, FIELDS)
    assert (error.status, error.code) == (400, "invalid_input")
    assert error.fields == {"partitionKey": "Bad key.", "name": "Too long."}
