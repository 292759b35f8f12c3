"""The REST API: one django-ninja instance mounted at /api/v1/ (OpenAPI at /api/v1/docs).

Adding a router is one line at the bottom: ``api.add_router("/dataflows", router)``.
Every request needs ``Authorization: Bearer <token>`` (core/api_auth.py), and
every error answer has one shape, ``{"error": {"code", "message", "fields"}}``
(core/api_errors.py); the handlers below make that true for ninja's own
errors (validation, auth, 404, 405), malformed JSON, oversized bodies (413)
and unexpected exceptions (500, logged).
"""

import functools
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, re_path
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, trans_real
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from core.api_auth import BearerToken
from core.api_errors import ApiError, error_body
from core.input_policy import InputError, parse_json

logger = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}
UNAUTHORIZED = gettext_noop(
    "Missing or invalid API token: send 'Authorization: Bearer <token>' "
    "(create one with `python manage.py api_token USERNAME`)."
)


class StreamlineAPI(NinjaAPI):
    def _get_urls(self) -> list:
        # ninja answers a wrong method with a plain-text 405; give it the error format.
        return [_with_json_405(p) if isinstance(p, URLPattern) else p for p in super()._get_urls()]


def _with_json_405(pattern: URLPattern) -> URLPattern:
    """The view in the caller's language (`api_language`), and a JSON 405."""
    view = pattern.callback

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override(api_language(request)):
            return _answer(view, request, *args, **kwargs)

    return path(str(pattern.pattern), wrapped, name=pattern.name)


def api_language(request: HttpRequest) -> str:
    """The language of the API's messages: the request's Accept-Language alone (not the
    language cookie or a user's saved UI choice: the caller of a script decides).
    Codes, field names and JSON keys stay English whatever it is."""
    header = request.headers.get("Accept-Language", "")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _answer(view: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    response = view(request, *args, **kwargs)
    if response.status_code == 405 and response.get("Content-Type", "").startswith("text"):
        allowed = response.get("Allow", "")
        answer = _error(
            405,
            "method_not_allowed",
            gettext("%(method)s is not allowed here (use %(allowed)s).")
            % {"method": request.method, "allowed": allowed},
        )
        answer["Allow"] = allowed
        return answer
    return response


def _error(status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=status)


class PolicyParser(Parser):
    """JSON bodies are read under the input policy (core/input_policy.py): NaN, 1e400,
    huge integers, deep nesting, NUL or lone surrogates are a 400 naming the field."""

    def parse_body(self, request: HttpRequest) -> Any:
        return parse_json(request.body)


api = StreamlineAPI(
    title="Streamline API",
    version="1",
    urls_namespace="api",
    auth=BearerToken(),
    parser=PolicyParser(),
    description=(
        "Streaming ingestion of profiles and the product's REST API. Authenticate with "
        "`Authorization: Bearer <token>`; create a token in Django admin (Core, API tokens) "
        "or with `python manage.py api_token <username>`. Every error answer is "
        '`{"error": {"code": "...", "message": "...", "fields": {"<location>": "<problem>"}}}`.'
    ),
)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = {}
    for error in exc.errors:
        location = _location(error.get("loc", ()))
        fields.setdefault(location or "body", error.get("msg", "is not valid"))
    first = next(iter(fields.items()))
    return _error(400, "invalid_input", f"{first[0]}: {first[1]}", fields)


def _location(loc: Any) -> str:
    parts = list(loc)[1:]  # drop "body" / "query" / "path"
    if loc and loc[0] == "body" and parts[:1] == ["payload"]:
        # Routers take their JSON body as a schema parameter named `payload`:
        # report `auth.params.region`, not `payload.auth.params.region`.
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(401, "unauthorized", gettext(UNAUTHORIZED))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(InputError)
def _input_error(request: HttpRequest, exc: InputError) -> HttpResponse:
    return input_error_response(exc)


def input_error_response(exc: InputError) -> JsonResponse:
    return _error(400, exc.code, str(exc), exc.fields)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, RequestDataTooBig):
        return too_big_response()
    if isinstance(exc.__cause__, InputError):
        return input_error_response(exc.__cause__)
    message = str(exc)
    code = CODES.get(exc.status_code, "error")
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        code, message = "malformed_json", gettext("The request body is not valid JSON.")
    return _error(exc.status_code, code, message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(404, "not_found", str(exc) or gettext("Not found."))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return too_big_response()


def too_big_response() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(
        413,
        "payload_too_large",
        gettext("The request body is larger than %(limit)s bytes; send smaller batches.")
        % {"limit": limit},
    )


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(
        500, "internal_error", gettext("Something went wrong on our side; it was logged.")
    )


@csrf_exempt
def unknown_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    with translation.override(api_language(request)):
        message = gettext("There is no API endpoint %(path)s.") % {"path": request.path}
    return _error(404, "not_found", message)


# --- routers -----------------------------------------------------------------------
from profiles.api import router as profiles_router  # noqa: E402

api.add_router("/profiles", profiles_router)

from api.catalog import router as catalog_router  # noqa: E402
from api.connections import router as connections_router  # noqa: E402
from api.dataflows import router as dataflows_router  # noqa: E402
from api.segments import router as segments_router  # noqa: E402
from governance.api import register as register_governance  # noqa: E402

api.add_router("/connectionSpecs", catalog_router)
api.add_router("/connections", connections_router)
api.add_router("/dataflows", dataflows_router)
api.add_router("/segments", segments_router)
register_governance(api)

from api.docs import LocalSwagger  # noqa: E402

# Swagger UI from our static files, started without inline script (CSP).
api.docs = LocalSwagger()

# config/urls.py mounts these at api/v1/; the fallback (newlines included) makes every
# unknown path a JSON 404.
urlpatterns = [path("", api.urls), re_path(r"^(?P<rest>(?s:.*))$", unknown_endpoint)]
