"""Ingestion and segmentation benchmark (`make bench-ingest`), printing `name: value` lines.

Needs PostgreSQL: it creates its own database, `<DATABASE_URL's name>_ingest`,
and drops it afterwards, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench make bench-ingest

1. Streaming ingestion through the API code path: batches of 1,000 realistic
   profiles (four identities each) POSTed to /api/v1/profiles with a bearer
   token through Django's full request stack (middleware, URL routing, auth,
   ninja), in rounds alternating between no active segment and three active
   segments, so table growth and machine noise hit both alike.
   Prints `ingest_profiles_per_s` (with three active segments),
   `ingest_profiles_per_s_no_segments` and `ingest_segmentation_overhead_pct`.
2. Batch evaluation over 1,000,000 profiles (written in bulk SQL): a new
   segment is evaluated, then its rule is edited and it is re-evaluated, each
   in a fresh process whose peak RSS is measured. Prints
   `segment_evaluation_1m_s`, `segment_reevaluation_1m_s` and
   `segment_reevaluation_peak_rss_mb` (plus the transitions it wrote).

Options: --profiles N (per round, default 10,000), --rounds R (default 3),
--store N (default 1,000,000; 0 skips part 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks.common import bench_database, django_setup, peak_rss_mb, run_child

SEGMENT_RULES = [
    {"path": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
    {"path": "commerce.lastPurchaseAt", "op": "within_last_days", "value": 30},
    {
        "and": [
            {"path": "consents.marketing.email", "op": "equals", "value": True},
            {"path": "person.birthDate", "op": "lt", "value": "1980-01-01"},
        ]
    },
]
RULE_BEFORE = {"path": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]}
RULE_AFTER = {
    "or": [
        {"path": "loyalty.tier", "op": "equals", "value": "gold"},
        {"path": "loyalty.points", "op": "gte", "value": 9000},
    ]
}
STORE_SQL = """
INSERT INTO profiles_profile (attributes, created_at, updated_at)
SELECT jsonb_build_object(
    'person', jsonb_build_object(
        'name', jsonb_build_object('firstName', 'First' || i, 'lastName', 'Last' || i),
        'birthDate', to_char(date '1940-01-01' + (i %% 25000), 'YYYY-MM-DD')),
    'personalEmail', jsonb_build_object('address', 'person' || i || '@example.com'),
    'loyalty', jsonb_build_object(
        'tier', (ARRAY['bronze', 'silver', 'gold', 'platinum'])[1 + i %% 4],
        'points', (i::bigint * 7919) %% 10000)),
    now(), now()
FROM generate_series(%s, %s) AS i
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000, help="profiles per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", type=int, default=1_000_000)
    parser.add_argument("--evaluate", help=argparse.SUPPRESS)  # child process: segment id
    args = parser.parse_args()
    django_setup()
    if args.evaluate:
        _child_evaluate(args.evaluate)
        return
    with bench_database("ingest"):
        ingest(per_round=args.profiles, rounds=args.rounds)
        if args.store:
            reevaluate(store=args.store)


# --- part 1: ingestion ----------------------------------------------------------------


def ingest(*, per_round: int, rounds: int) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from core.models import ApiToken
    from profiles.demo import demo_records
    from profiles.models import Profile, Segment
    from profiles.segments import segment_create

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    token = ApiToken.issue(user=user)[1]
    client = Client(headers={"Authorization": f"Bearer {token}"})
    for i, rule in enumerate(SEGMENT_RULES):
        segment_create(name=f"bench {i}", rule=rule, evaluate=False)

    # Bodies are prepared up front: generating fake people is not ingestion.
    seed = 0
    timings: dict[bool, float] = {False: 0.0, True: 0.0}
    counts: dict[bool, int] = {False: 0, True: 0}
    _post_all(client, _bodies(demo_records(2000, seed=999)))  # warm-up (not measured)
    for _ in range(rounds):
        for with_segments in (False, True):
            seed += 1
            bodies = _bodies(demo_records(per_round, seed=seed))
            Segment.objects.update(active=with_segments)
            started = time.perf_counter()
            _post_all(client, bodies)
            timings[with_segments] += time.perf_counter() - started
            counts[with_segments] += per_round
    with_rate = counts[True] / timings[True]
    without_rate = counts[False] / timings[False]
    overhead = (timings[True] / counts[True]) / (timings[False] / counts[False]) - 1
    print(f"ingest_profiles: {Profile.objects.count()}")
    print(f"ingest_profiles_per_s: {with_rate:.0f}")
    print(f"ingest_profiles_per_s_no_segments: {without_rate:.0f}")
    print(f"ingest_segmentation_overhead_pct: {100 * overhead:.1f}")
    sys.stdout.flush()


def _bodies(records: object, size: int = 1000) -> list[str]:
    batch: list[dict] = []
    bodies = []
    for record in records:  # type: ignore[attr-defined]
        batch.append(record)
        if len(batch) == size:
            bodies.append(json.dumps(batch))
            batch = []
    if batch:
        bodies.append(json.dumps(batch))
    return bodies


def _post_all(client: object, bodies: list[str]) -> None:
    for body in bodies:
        response = client.post("/api/v1/profiles", data=body, content_type="application/json")  # type: ignore[attr-defined]
        if response.status_code != 200:
            raise SystemExit(f"ingestion failed: {response.status_code} {response.content[:300]!r}")


# --- part 2: batch evaluation over a million profiles ---------------------------------------


def reevaluate(*, store: int) -> None:
    from django.db import connection, transaction

    from profiles.models import Segment
    from profiles.segments import segment_create

    started = time.perf_counter()
    step = 200_000
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM profiles_profile")
        first = cursor.fetchone()[0] + 1
    for low in range(first, first + store, step):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(STORE_SQL, [low, min(low + step, first + store) - 1])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_profile")
        cursor.execute("SELECT count(*) FROM profiles_profile")
        total = cursor.fetchone()[0]
    print(f"store_profiles: {total}")
    print(f"store_build_s: {time.perf_counter() - started:.1f}")
    sys.stdout.flush()

    Segment.objects.update(active=False)
    segment = segment_create(name="bench reevaluation", rule=RULE_BEFORE, evaluate=False)
    first_run = run_child("benchmarks.ingest", "--evaluate", str(segment.pk))
    print(f"segment_evaluation_1m_s: {first_run['seconds']:.1f}")
    print(f"segment_evaluation_peak_rss_mb: {first_run['rss_mb']:.0f}")
    print(f"segment_evaluation_realized: {first_run['realized']}")
    sys.stdout.flush()

    segment.rule = RULE_AFTER
    segment.save()
    second = run_child("benchmarks.ingest", "--evaluate", str(segment.pk))
    print(f"segment_reevaluation_1m_s: {second['seconds']:.1f}")
    print(f"segment_reevaluation_peak_rss_mb: {second['rss_mb']:.0f}")
    print(
        f"segment_reevaluation_transitions: realized={second['realized']} "
        f"exited={second['exited']} existing={second['existing']}"
    )


def _child_evaluate(segment_id: str) -> None:
    from profiles.segments import segment_evaluate

    started = time.perf_counter()
    stats = segment_evaluate(segment_id=segment_id)
    seconds = time.perf_counter() - started
    if not stats.completed:
        raise SystemExit("the evaluation stopped before the end")
    rss_mb = peak_rss_mb()
    result = {
        "seconds": seconds,
        "rss_mb": rss_mb,
        "realized": stats.realized,
        "exited": stats.exited,
        "existing": stats.existing,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
