"""Server-rendered SVG charts: no JavaScript, no CDN, readable by screen readers.

Each chart is an inline <svg role="img"> with a title and a description that
sums up the data; pages put the numbers in a table beside it as well.
"""

import math
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from core.i18n import format_integer


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    css_class: str


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value (an axis maximum)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _points(values: list[int], box: Box, top_value: int) -> str:
    step = box.width / (len(values) - 1) if len(values) > 1 else 0
    return " ".join(
        f"{round(box.left + i * step, 1)},{round(box.top + box.height * (1 - v / top_value), 1)}"
        for i, v in enumerate(values)
    )


def _polyline(css_class: str, values: list[int], box: Box, top_value: int) -> str:
    return f'<polyline class="{css_class}" points="{_points(values, box, top_value)}"/>'


def _text(x: float, y: float, anchor: str, label: str) -> str:
    return f'<text class="chart-axis" x="{x}" y="{y}" text-anchor="{anchor}">{escape(label)}</text>'


def sparkline_svg(*, values: list[int], failed: list[int], label: str) -> SafeString:
    """A small trend line of activated (and failed, when any) identities per hour."""
    width, height, pad = 120, 28, 2
    if not any(values) and not any(failed):
        return mark_safe(
            f'<svg class="sparkline" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(gettext("%(label)s: no activity") % {"label": label})}">'
            f'<line class="spark-empty" x1="0" '
            f'y1="{height - pad}" x2="{width}" y2="{height - pad}"/></svg>'
        )
    top_value = max([*values, *failed, 1])
    box = Box(pad, pad, width - 2 * pad, height - 2 * pad)
    lines = _polyline("spark-activated", values, box, top_value)
    if any(failed):
        lines += _polyline("spark-failed", failed, box, top_value)
    summary = gettext("%(label)s: %(activated)s activated, %(failed)s failed") % {
        "label": label,
        "activated": format_integer(sum(values)),
        "failed": format_integer(sum(failed)),
    }
    return mark_safe(
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="{escape(summary)}">{lines}</svg>'
    )


def timeseries_svg(
    *, chart_id: str, title: str, labels: list[str], series: list[Series]
) -> SafeString:
    """A line chart of a few series over time buckets, with gridlines and axis labels."""
    width, height = 760, 240
    box = Box(left=52, top=12, width=width - 52 - 12, height=height - 12 - 36)
    top_value = nice_ceiling(max([v for s in series for v in s.values] or [0]))
    parts: list[str] = []
    for i in range(5):
        y = round(box.top + box.height * (1 - i / 4), 1)
        parts.append(
            f'<line class="chart-grid" x1="{box.left}" y1="{y}" x2="{width - 12}" y2="{y}"/>'
        )
        parts.append(_text(box.left - 6, y + 4, "end", _short(top_value * i / 4)))
    step = box.width / (len(labels) - 1) if len(labels) > 1 else 0
    for i in range(0, len(labels), max(1, math.ceil(len(labels) / 8))):
        parts.append(_text(round(box.left + i * step, 1), height - 18, "middle", labels[i]))
    for s in series:
        parts.append(_polyline(s.css_class, s.values, box, top_value))
    totals = ", ".join(f"{s.label.lower()} {format_integer(sum(s.values))}" for s in series)
    period = (
        gettext("From %(start)s to %(end)s") % {"start": labels[0], "end": labels[-1]}
        if labels
        else gettext("No data")
    )
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(f"{period}: {totals}.")}</desc>'
        f"{''.join(parts)}</svg>"
    )


def _short(value: float) -> str:
    """An axis label: 2.5k / 2,5k (the decimal mark of the active language)."""
    if value >= 1_000_000:
        return f"{_compact(value / 1_000_000)}M"
    if value >= 1_000:
        return f"{_compact(value / 1_000)}k"
    return _compact(value)


def _compact(value: float) -> str:
    """Like format(value, "g"): no trailing zeros, but with the locale's decimal mark."""
    text = f"{value:g}"
    if "." not in text:
        return text
    return number_format(value, decimal_pos=len(text.split(".", 1)[1]))
