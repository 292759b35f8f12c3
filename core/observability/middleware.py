"""Every request: a request id (accepted from X-Request-ID or made), the user, HTTP
metrics by route, and one access-log line; the id is echoed in the response."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from core.observability import logging as log
from core.observability.metrics import http_observed

logger = logging.getLogger("streamline.http")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it is short and plain (it lands in logs).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "<unmatched>"
# Methods outside this set (anyone can send any) are counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_of(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (bounded by the URL conf), never the raw path."""
    if _is_static(request):
        return "static"
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


def user_id_of(request: HttpRequest) -> str | None:
    """The signed-in user's id, without loading a session nobody asked for."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return str(user.pk) if user.is_authenticated else None


def _is_static(request: HttpRequest) -> bool:
    return request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        with log.log_context(request_id=request_id):
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            route = route_of(request)
            http_observed(
                route=route,
                method=request.method if request.method in METHODS else "other",
                status=response.status_code,
                seconds=seconds,
            )
            log.bind(user=user_id_of(request))
            if route != "static":
                logger.info(
                    "%s %s %s %.0f ms",
                    request.method,
                    request.path,  # no query string: it can carry identities
                    response.status_code,
                    seconds * 1000,
                    extra={
                        "route": route,
                        "status": response.status_code,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
        response[REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        # After authentication: a session user is known from here on (an API
        # token's user is bound by core.api_auth when it authenticates).
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                log.bind(user=str(user.pk))
