"""A large profile store generated in bulk SQL (PostgreSQL), for benchmarks.

One `INSERT ... SELECT generate_series` per table writes profiles, their
identities (ecid and email), their membership of one segment and one
captured change each (the history a store filled by ingestion has), so a
million profiles take seconds, not the hours the ORM would.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction

_PROFILES = """
INSERT INTO profiles_profile (id, attributes, created_at, updated_at)
SELECT i, jsonb_build_object(
    'person', jsonb_build_object(
        'name', jsonb_build_object('firstName', 'First' || i, 'lastName', 'Last' || i),
        'birthDate', '1980-01-01'),
    'personalEmail', jsonb_build_object('address', 'person' || i || '@example.com'),
    'loyalty', jsonb_build_object('tier', 'gold', 'points', i %% 1000)),
    now(), now()
FROM generate_series(%(first)s, %(last)s) AS i
"""
_IDENTITIES = """
INSERT INTO profiles_identity (profile_id, namespace, value, created_at)
SELECT i, ns, CASE ns WHEN 'ecid' THEN 'ecid-' || i ELSE 'person' || i || '@example.com' END,
       now()
FROM generate_series(%(first)s, %(last)s) AS i, (VALUES ('ecid'), ('email')) AS n(ns)
"""
_MEMBERSHIPS = """
INSERT INTO profiles_segmentmembership
    (profile_id, segment_id, status, last_qualification_time, updated_at)
SELECT i, %(segment)s, 'existing', now(), now() FROM generate_series(%(first)s, %(last)s) AS i
"""
_CHANGES = """
INSERT INTO profiles_profilechange
    (profile_id, written_paths, changed_paths, identities_added, identities_removed,
     membership_changes, source, created_at)
SELECT i, '["person", "personalEmail", "loyalty"]', '["person", "personalEmail", "loyalty"]',
       jsonb_build_array(jsonb_build_object('namespace', 'ecid', 'id', 'ecid-' || i)),
       '[]', jsonb_build_object(%(segment)s::text, 'realized'), 'import', now()
FROM generate_series(%(first)s, %(last)s) AS i
"""
_SEQUENCES = (
    ("profiles_profile", "id"),
    ("profiles_identity", "id"),
    ("profiles_segmentmembership", "id"),
    ("profiles_profilechange", "id"),
)


def store_grow(*, segment_id: uuid.UUID, first: int, last: int, step: int = 250_000) -> None:
    """Add profiles first..last (ids), each a member of the segment, in bulk."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the bulk store generator needs PostgreSQL (set DATABASE_URL)")
    for start in range(first, last + 1, step):
        params = {"first": start, "last": min(last, start + step - 1), "segment": str(segment_id)}
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in (_PROFILES, _IDENTITIES, _MEMBERSHIPS, _CHANGES):
                cursor.execute(sql, params)
    with connection.cursor() as cursor:
        for table, column in _SEQUENCES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"(SELECT COALESCE(MAX({column}), 1) FROM {table}))"
            )
        # Vacuumed and analyzed now, so autovacuum does not wake up in the middle of a
        # measurement and the planner knows the new sizes.
        for table, _ in _SEQUENCES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
