"""Bearer-token authentication for the REST API (``Authorization: Bearer <token>``).

Tokens are created by ``python manage.py api_token USERNAME`` (or in Django
admin's API tokens list, which only ever shows a prefix). Only the SHA-256 of
a token is stored. A request authenticates as the token's user; writes need a
role that may edit (core.roles.user_can_edit), exactly like the UI.
"""

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from core.models import ApiToken, hash_token
from core.observability.logging import bind as bind_log_context
from core.roles import FORBIDDEN_MESSAGE, SAFE_METHODS, user_can_edit

# last_used_at is informative; writing it on every request would make every
# API call a write. Once a minute per token is plenty.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
SQLITE_NOTE_WAIT_MS = 200

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_user(token)
        if user is None:
            return None
        request.user = user
        bind_log_context(user=str(user.pk))
        if request.method not in SAFE_METHODS and not user_can_edit(user):
            raise AuthorizationError(403, FORBIDDEN_MESSAGE)
        return user


def token_user(token: str) -> Any:
    """The active user a valid, unrevoked token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(token.strip()), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        note_token_used(row.pk, now)
    return row.user


def note_token_used(token_id: int, now: dt.datetime) -> None:
    """Record last_used_at, at most once a minute per token and never at the request's cost.

    The cache gate keeps concurrent requests from all writing; a busy database
    (SQLite locked by a long write) skips the note instead of failing or
    stalling the request: it is informative only.
    """
    if not cache.add(f"api-token-used:{token_id}", 1, LAST_USED_RESOLUTION.total_seconds()):
        return
    try:
        with _short_lock_wait(), transaction.atomic():
            ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    except DatabaseError:
        logger.info("API token %s: last_used_at not written (database busy)", token_id)


@contextmanager
def _short_lock_wait() -> Iterator[None]:
    """On SQLite, wait at most a moment for the write lock (the default waits 30 s)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_NOTE_WAIT_MS}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
