"""The REST API's one error format, shared by every router.

Every error answer of /api/v1/ has this body (config/api.py installs the
handlers that guarantee it, including for bad JSON, auth, 404, 405 and 413)::

    {"error": {"code": "invalid_record",
               "message": "identityMap.foo: unknown identity namespace 'foo'",
               "fields": {"identityMap.foo": "unknown identity namespace 'foo'"}}}

``code`` is stable and machine-readable, ``message`` is for people, and
``fields`` maps the location of each bad input (dotted, ``[i]`` for list
items) to what is wrong with it; it is ``{}`` when no field is to blame.
Routers raise ``ApiError`` for their own errors.
"""

from typing import Any

from ninja import Schema


class ApiError(Exception):
    """An error answer: HTTP status, stable code, message, and bad fields."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorDetail
