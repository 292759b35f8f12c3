"""`{% live_poll url version %}`: the attributes that make an element a live poller."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django import template
from django.utils.html import format_html

from core.live import LIVE_POLL_MS, VERSION_PARAM

register = template.Library()


def live_url(url: str, version: str) -> str:
    """`url` with its version parameter set to `version` (other parameters kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "v"]
    query.append((VERSION_PARAM, version))
    return urlunsplit(parts._replace(query=urlencode(query)))


@register.simple_tag
def live_poll(url: str, version: str) -> str:
    """The element polls `url` (answering 204 while nothing changed) and is replaced by
    the answer; static/js/live.js pauses it in a hidden tab ("live-refresh" resumes)."""
    return format_html(
        'hx-get="{}" hx-trigger="every {}ms, live-refresh" hx-swap="outerHTML" data-live',
        live_url(url, version),
        LIVE_POLL_MS,
    )
