"""Who is acting right now, for the audit log.

A middleware puts the current request in a context variable (UI and admin);
the API's token auth runs inside the same request, so its user is found on the
request too. Code outside a request (Celery tasks, management commands) is
"system" unless it says otherwise with `acting_as`.
"""

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from audit.models import Via


@dataclass(frozen=True)
class Actor:
    user: Any
    via: str

    @property
    def name(self) -> str:
        return self.user.get_username() if self.user is not None else "system"


_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "audit_request", default=None
)
_override: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


def _user_of(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    # django-ninja's auth result: the user itself, or a token that has one.
    auth = getattr(request, "auth", None)
    if auth is not None and getattr(auth, "is_authenticated", False):
        return auth
    token_user = getattr(auth, "user", None)
    if token_user is not None and getattr(token_user, "is_authenticated", False):
        return token_user
    return None


def _via_of(request: HttpRequest) -> str:
    if request.path.startswith("/api/"):
        return Via.API
    if request.path.startswith("/admin/"):
        return Via.ADMIN
    return Via.UI


def current_actor() -> Actor:
    """The acting user and the way in (UI, admin, API), or the system."""
    override = _override.get()
    if override is not None:
        return override
    request = _request.get()
    if request is None:
        return Actor(user=None, via=Via.SYSTEM)
    user = _user_of(request)
    return Actor(user=user, via=_via_of(request) if user is not None else Via.SYSTEM)


@contextmanager
def acting_as(user: Any, *, via: str = Via.SYSTEM) -> Iterator[None]:
    """Attribute the changes made inside the block to `user` (None: the system)."""
    token = _override.set(Actor(user=user, via=via))
    try:
        yield
    finally:
        _override.reset(token)


class AuditContextMiddleware:
    """Makes the current request (and so its user) known to the audit recorder."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
