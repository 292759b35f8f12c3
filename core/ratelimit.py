"""Login rate limiting: after too many failures for one username or one client
address within a window, further attempts are refused until it passes.

Counts live in Django's cache (Redis in production, so every web process
shares them).
"""

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 15 * 60


def _keys(username: str, address: str) -> list[str]:
    return [f"login-fail:user:{username.lower()}", f"login-fail:addr:{address}"]


def _limit() -> int:
    return getattr(settings, "LOGIN_FAILURE_LIMIT", 5)


def login_locked(*, username: str, address: str) -> bool:
    """True when this username or address has used up its failed attempts."""
    return any((cache.get(key) or 0) >= _limit() for key in _keys(username, address))


def login_failed(*, username: str, address: str) -> None:
    """Count one failed attempt against the username and the address."""
    for key in _keys(username, address):
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS)


def login_succeeded(*, username: str, address: str) -> None:
    """Forget the username's failures (the address keeps its count)."""
    cache.delete(_keys(username, address)[0])
