"""One relative-time wording for every page: the helper, the tag and the filter."""

import datetime as dt

import pytest
from django.template import Context, Template

from core.templatetags.relative_time import relative_time_text

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds_ago", "text"),
    [
        (0, "just now"),
        (7, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (119, "1 minute ago"),
        (45 * 60, "45 minutes ago"),
        (3600, "1 hour ago"),
        (5 * 3600 + 59 * 60, "5 hours ago"),
        (86400, "1 day ago"),
        (29 * 86400, "29 days ago"),
        (30 * 86400, "on 2026-01-30"),
        (-20, "in a few seconds"),
        (-5 * 60 - 30, "in 5 minutes"),
        (-2 * 3600, "in 2 hours"),
    ],
)
def test_the_wording(seconds_ago, text):
    assert relative_time_text(NOW - dt.timedelta(seconds=seconds_ago), now=NOW) == text


def test_the_tag_renders_a_time_element_with_the_exact_time_as_tooltip():
    value = dt.datetime(2026, 3, 1, 11, 57, 5, tzinfo=dt.UTC)
    html = Template("{% load relative_time %}{% ago value %}").render(Context({"value": value}))
    assert html.startswith('<time datetime="2026-03-01T11:57:05+00:00"')
    assert 'title="2026-03-01 11:57:05 UTC">on 2026-03-01</time>' in html


def test_the_tag_and_filter_without_a_value():
    template = Template(
        '{% load relative_time %}{% ago none %}|{% ago none never="Not yet" %}|{{ none|ago }}'
    )
    assert template.render(Context({"none": None})) == "never|Not yet|"
