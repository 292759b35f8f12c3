"""Live pages: an open page polls a version, and only a changed version costs a render.

A live element (`{% live_poll url version %}` in core/templatetags/live.py) asks its
URL every LIVE_POLL_MS with the version the page was rendered from (`?v=`). The view
computes the current version first, from a few indexed columns (one small query),
and `live_response` answers 204 No Content when it matches: htmx swaps nothing and
no template is rendered. Otherwise the view renders its fragment, carrying the new
version. The version is computed before the data is read, so a change made while a
fragment renders is never missed: at worst it is rendered once more.

Relative times ("2 minutes ago") change with the clock alone, so every version
includes the current minute: a page whose data stands still re-renders once a
minute. static/js/live.js skips polls while the tab is hidden and polls at once
when it shows again.
"""

import hashlib
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# How often an open page asks whether anything changed; with the render, a change
# shows within about 2 s.
LIVE_POLL_MS = 1500
VERSION_PARAM = "v"


def current_minute() -> int:
    return int(time.time() // 60)


def live_version(*parts: object) -> str:
    """A short, opaque version of the given values (and of the current minute)."""
    return hashlib.blake2b(repr((current_minute(), parts)).encode(), digest_size=8).hexdigest()


def live_response(
    request: HttpRequest, *, version: str, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """204 when the page already shows `version`; else the rendered fragment."""
    if request.GET.get(VERSION_PARAM) == version:
        response = HttpResponse(status=204)
    else:
        # The fragment renders as for the page itself: its links must not carry `v`.
        request.GET = request.GET.copy()
        request.GET.pop(VERSION_PARAM, None)
        response = render()
    response["ETag"] = f'"{version}"'
    return response
