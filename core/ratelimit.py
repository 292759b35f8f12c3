"""Login rate limiting: after too many failures for one username or one client
address within a window, further attempts are refused until it passes.

Counts live in Django's cache (Redis in production, so every web process
shares them).

A username is counted under the name authentication would resolve it to
(`login_name`): the login form strips it and applies NFKC (Django's
`UsernameField`), so `" brute2"` and a fullwidth `brute2` (U+FF42...) log in
as `brute2` and must spend `brute2`'s attempts. Case is folded too: Django
refuses usernames that differ only by case, so every case variant names the
same account.

The client address is REMOTE_ADDR, or, behind `TRUSTED_PROXY_COUNT` reverse
proxies, the address the outermost trusted proxy saw (`client_address`).
"""

import hashlib
import ipaddress

from django.conf import settings
from django.contrib.auth.forms import UsernameField
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 15 * 60


def login_name(raw_username: str) -> str:
    """The account name a login attempt with `raw_username` is aimed at."""
    return (UsernameField().to_python(raw_username) or "").casefold()


def client_address(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only as far as configured.

    Each of the `TRUSTED_PROXY_COUNT` proxies appends the address it received
    the request from, so the client is the Nth entry from the right; anything
    further left was written by the client and is ignored. With 0 proxies (the
    default) the header is never read.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < proxies:
        return remote  # did not pass through every trusted proxy
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _keys(username: str, address: str) -> list[str]:
    # Hashed: the name is attacker-chosen text of any length.
    name = hashlib.sha256(login_name(username).encode("utf-8", "replace")).hexdigest()
    return [f"login-fail:user:{name}", f"login-fail:addr:{address}"]


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
