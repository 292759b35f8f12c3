"""Issue 15, point 2: large profiles. Writes are bounded by documented limits and cost
linear work; the profile page shows a bounded slice of any profile, however large."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from profiles import services
from profiles.attributes import MAX_LEAF_PATHS, leaf_paths
from profiles.models import Profile, ProfileChange
from profiles.selectors import ATTRIBUTES_PER_PAGE, PATHS_PER_CHANGE
from profiles.services import profile_upsert

pytestmark = pytest.mark.django_db


def keys(n: int, start: int = 0) -> dict:
    return {"bag": {f"k{i}": i for i in range(start, start + n)}}


def write(attributes: dict) -> Any:
    return profile_upsert(
        record={"identityMap": {"email": [{"id": "big@example.com"}]}, "attributes": attributes},
        source="api",
    )


def test_a_record_at_the_limit_is_written_and_one_more_path_is_refused():
    assert write(keys(MAX_LEAF_PATHS)).ok
    refused = write(keys(MAX_LEAF_PATHS + 1))
    assert not refused.ok
    assert f"at most {MAX_LEAF_PATHS:,}" in refused.error.fields["attributes"]


class CountingStr(str):
    """A path that counts equality tests: the operation that made writes quadratic."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingStr.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_recording_written_paths_costs_a_few_comparisons_per_path(monkeypatch):
    # Two records of one batch on the same profile: their written and changed paths are
    # merged into one change row. Each path costs O(1) comparisons, not a scan of the
    # paths seen so far (a list scan would make ~n^2/2 = 4.5 million here).
    original = services.merge

    def counted(current: dict, patch: dict) -> Any:
        result = original(current, patch)
        result.written = [CountingStr(p) for p in result.written]
        result.changed = [CountingStr(p) for p in result.changed]
        return result

    monkeypatch.setattr(services, "merge", counted)
    CountingStr.comparisons = 0
    email = {"email": [{"id": "big@example.com"}]}
    results = services.profiles_upsert(
        records=[
            {"identityMap": email, "attributes": keys(MAX_LEAF_PATHS)},
            {"identityMap": email, "attributes": keys(MAX_LEAF_PATHS, start=1000)},
        ],
        source="api",
    )
    assert all(r.ok for r in results)
    paths = MAX_LEAF_PATHS + 1000
    assert CountingStr.comparisons <= 4 * paths
    change = ProfileChange.objects.get()
    assert len(change.written_paths) == paths == len(set(change.written_paths))


def test_the_profile_page_shows_a_page_of_a_large_profile(logged_in_client):
    pid = write(keys(MAX_LEAF_PATHS)).profile_id
    # A profile written before the limits existed can be larger still.
    Profile.objects.filter(pk=pid).update(attributes=keys(10_000))
    url = reverse("profiles:profile_detail", args=[pid])
    html = logged_in_client.get(url).content.decode()
    assert f"Attribute paths 1\N{EN DASH}{ATTRIBUTES_PER_PAGE} of 10,000" in html
    assert "&quot;k199&quot;" in html and "&quot;k200&quot;" not in html
    assert "Show more paths" in html
    # The change row lists its first paths and counts the rest.
    assert f"and {MAX_LEAF_PATHS - PATHS_PER_CHANGE:,} more" in html
    assert html.count("<code") < 2 * (ATTRIBUTES_PER_PAGE + PATHS_PER_CHANGE)
    page_two = logged_in_client.get(url, {"attributes_page": "2"}).content.decode()
    assert "&quot;k200&quot;" in page_two and "&quot;k199&quot;" not in page_two
    last = logged_in_client.get(url, {"attributes_page": "50"}).content.decode()
    assert "&quot;k9999&quot;" in last and "Show more paths" not in last


def test_small_profiles_are_shown_whole():
    from profiles.selectors import attributes_page

    document = {"person": {"name": {"firstName": "Ann"}}, "tags": ["a"], "empty": {}}
    page = attributes_page(document, page=None)
    assert page.document == document and not page.paged
    assert page.total == len(leaf_paths(document))


def test_import_reports_hostile_lines_and_writes_the_others(tmp_path):
    good = '{"identityMap": {"email": [{"id": "ok@example.com"}]}}'
    lines = [
        good,
        '{"identityMap": {"email": [{"id": "x@example.com"}]}, "attributes": {"a": "b\\ud800"}}',
        '{"identityMap": {"email": [{"id": "y@example.com"}]}, "attributes": {"a": NaN}}',
        '{"identityMap": {"email": [{"id": "z\\u0000@example.com"}]}}',
        '{"identityMap": {"email": [{"id": "w@example.com"}]}, "attributes": {"a": 1e400}}',
    ]
    path = tmp_path / "hostile.ndjson"
    path.write_text("\n".join(lines) + "\n")
    out = StringIO()
    call_command("import_profiles", str(path), stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "line 2: attributes.a: contains a lone surrogate" in text
    assert "line 3: attributes.a: is NaN: numbers must be finite" in text
    assert "line 4: identityMap.email[0].id: contains a NUL character" in text
    assert "line 5: attributes.a: is not a finite number" in text
    assert Profile.objects.count() == 1
