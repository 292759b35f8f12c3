"""One way to say when something happened, on every page and in every live refresh.

`{% ago value %}` renders `<time datetime=… title=…>2 minutes ago</time>`; the
`|ago` filter gives the text alone. Under a minute is "just now" (a page refreshes
its relative times once a minute, see core/live.py, so seconds would go stale).
Translated with plurals (ngettext): "för 3 minuter sedan", "om 2 timmar". Dates stay
ISO (2026-03-01), which is also how Swedish writes them.
"""

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext

register = template.Library()


# Whole sentences per unit and direction, so every language can inflect them.
def _days_ago(n: int) -> str:
    return ngettext("%(count)d day ago", "%(count)d days ago", n) % {"count": n}


def _hours_ago(n: int) -> str:
    return ngettext("%(count)d hour ago", "%(count)d hours ago", n) % {"count": n}


def _minutes_ago(n: int) -> str:
    return ngettext("%(count)d minute ago", "%(count)d minutes ago", n) % {"count": n}


def _in_days(n: int) -> str:
    return ngettext("in %(count)d day", "in %(count)d days", n) % {"count": n}


def _in_hours(n: int) -> str:
    return ngettext("in %(count)d hour", "in %(count)d hours", n) % {"count": n}


def _in_minutes(n: int) -> str:
    return ngettext("in %(count)d minute", "in %(count)d minutes", n) % {"count": n}


_UNITS = (
    (24 * 3600, _days_ago, _in_days),
    (3600, _hours_ago, _in_hours),
    (60, _minutes_ago, _in_minutes),
)
# Beyond this, a date says more than "45 days ago".
_DATE_AFTER = dt.timedelta(days=30)


def relative_time_text(value: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """ "just now", "1 minute ago", "3 hours ago", "in 2 minutes", "on 2026-03-01"."""
    now = now or timezone.now()
    delta = now - value
    seconds = abs(delta.total_seconds())
    if seconds < 60:
        return gettext("just now") if delta.total_seconds() >= 0 else gettext("in a few seconds")
    if abs(delta) >= _DATE_AFTER:
        return pgettext("relative time", "on %(date)s") % {
            "date": f"{timezone.localtime(value):%Y-%m-%d}"
        }
    for size, past, future in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return past(count) if delta.total_seconds() > 0 else future(count)
    raise AssertionError("unreachable: seconds >= 60 here")


@register.filter
def ago(value: dt.datetime | None) -> str:
    return relative_time_text(value) if value else ""


@register.simple_tag(name="ago")
def ago_tag(value: dt.datetime | None, never: str | None = None) -> str:
    """A <time> element with the relative text, the exact time as its tooltip."""
    if not value:
        return gettext("never") if never is None else never
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z"),
        relative_time_text(value),
    )
