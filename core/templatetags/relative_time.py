"""One way to say when something happened, on every page and in every live refresh.

`{% ago value %}` renders `<time datetime=… title=…>2 minutes ago</time>`; the
`|ago` filter gives the text alone. Under a minute is "just now" (a page refreshes
its relative times once a minute, see core/live.py, so seconds would go stale).
"""

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

_UNITS = ((24 * 3600, "day"), (3600, "hour"), (60, "minute"))
# Beyond this, a date says more than "45 days ago".
_DATE_AFTER = dt.timedelta(days=30)


def relative_time_text(value: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """ "just now", "1 minute ago", "3 hours ago", "in 2 minutes", "on 2026-03-01"."""
    now = now or timezone.now()
    delta = now - value
    seconds = abs(delta.total_seconds())
    if seconds < 60:
        return "just now" if delta.total_seconds() >= 0 else "in a few seconds"
    if abs(delta) >= _DATE_AFTER:
        return f"on {timezone.localtime(value):%Y-%m-%d}"
    for size, unit in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{text} ago" if delta.total_seconds() > 0 else f"in {text}"
    raise AssertionError("unreachable: seconds >= 60 here")


@register.filter
def ago(value: dt.datetime | None) -> str:
    return relative_time_text(value) if value else ""


@register.simple_tag(name="ago")
def ago_tag(value: dt.datetime | None, never: str = "never") -> str:
    """A <time> element with the relative text, the exact time as its tooltip."""
    if not value:
        return never
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z"),
        relative_time_text(value),
    )
