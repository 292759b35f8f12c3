"""Large-profile benchmark (issue 15, point 2): writes and the profile page at the limits.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamline python -m benchmarks.large_profiles

Creates `<name>_profiles_bench` (migrated, dropped at the end) and prints:

* profile_write_at_limit_ms: one record of MAX_LEAF_PATHS (2,000) attribute paths
  through the one write path (profiles_upsert), median of 5.
* profile_write_scaling_ratio: a batch of two such records on one profile over one
  record alone: at most 2 when the work is linear (fixed costs make it less); the old
  list scan of written paths made it grow with the square.
* profile_page_at_limit_ms: the profile page of a profile at the limit with a
  2,000-path change (Django's full stack), median of 10 — target well under 1,000.
* profile_page_100k_paths_ms: the page of a 100,000-path profile stored before
  the limits existed (paged, so it stays fast).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

from benchmarks.common import bench_database, django_setup


def main() -> None:
    django_setup()
    with bench_database("profiles_bench"):
        for name, value in _measure():
            print(f"{name}: {value}", flush=True)


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def _measure() -> Iterator[tuple[str, str]]:
    from django.test import Client
    from django.urls import reverse

    from profiles.attributes import MAX_LEAF_PATHS
    from profiles.models import Profile
    from profiles.services import profiles_upsert
    from tests.factories import UserFactory

    def record(n: int, start: int = 0) -> dict:
        return {
            "identityMap": {"email": [{"id": "large@example.com"}]},
            "attributes": {"bag": {f"k{i}": f"v{i}" for i in range(start, start + n)}},
        }

    one = _median_ms(lambda: profiles_upsert(records=[record(MAX_LEAF_PATHS)], source="api"), 5)
    two = _median_ms(
        lambda: profiles_upsert(
            records=[record(MAX_LEAF_PATHS), record(MAX_LEAF_PATHS, MAX_LEAF_PATHS)],
            source="api",
        ),
        5,
    )
    yield "profile_write_at_limit_ms", f"{one:.1f}"
    yield "profile_write_scaling_ratio", f"{two / one:.2f}"

    profiles_upsert(records=[record(MAX_LEAF_PATHS)], source="api")
    profile = Profile.objects.get()
    client = Client()
    client.force_login(UserFactory(username="bench-viewer", role="Viewer"))
    url = reverse("profiles:profile_detail", args=[profile.pk])
    page = _median_ms(lambda: client.get(url), 10)
    yield "profile_page_at_limit_ms", f"{page:.1f}"
    Profile.objects.filter(pk=profile.pk).update(
        attributes={"bag": {f"k{i}": i for i in range(100_000)}}
    )
    yield "profile_page_100k_paths_ms", f"{_median_ms(lambda: client.get(url), 5):.1f}"


if __name__ == "__main__":
    main()
