"""Set-based writes for the profile write path.

Ingestion writes thousands of rows per batch into four tables. The ORM's
bulk_create/bulk_update build a model instance and prepare every field of
every row in Python, which costs more than the database work. On PostgreSQL
these helpers send each table's rows as a few arrays in ONE statement
(``INSERT ... SELECT FROM unnest(...)``, ``UPDATE ... FROM unnest(...)``);
elsewhere they use the ORM. Callers pass plain tuples.
"""

import datetime as dt
import json
import uuid
from collections.abc import Sequence

from django.db import connection

from profiles.models import Identity, Profile, ProfileChange, SegmentMembership

ChangeRow = tuple[int, list, list, list, list, dict, str]


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def profiles_insert(documents: Sequence[dict], *, now: dt.datetime) -> list[int]:
    """Insert profiles; their ids, in the order given."""
    if not documents:
        return []
    if not _postgres():
        rows = [Profile(attributes=d, created_at=now, updated_at=now) for d in documents]
        return [p.pk for p in Profile.objects.bulk_create(rows)]
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {Profile._meta.db_table} (attributes, created_at, updated_at) "
            "SELECT a, %s, %s FROM unnest(%s::jsonb[]) WITH ORDINALITY AS t(a, n) "
            "ORDER BY n RETURNING id",
            [now, now, [_dumps(d) for d in documents]],
        )
        return [row[0] for row in cur.fetchall()]


def profiles_update(rows: Sequence[tuple[int, dict]], *, now: dt.datetime) -> None:
    """Replace the attributes of existing profiles."""
    if not rows:
        return
    if not _postgres():
        profiles = [Profile(id=pk, attributes=doc, updated_at=now) for pk, doc in rows]
        Profile.objects.bulk_update(profiles, ["attributes", "updated_at"])
        return
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {Profile._meta.db_table} AS p SET attributes = u.a, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::jsonb[]) AS u(id, a) WHERE p.id = u.id",
            [now, [pk for pk, _ in rows], [_dumps(doc) for _, doc in rows]],
        )


def identities_insert(rows: Sequence[tuple[int, str, str]], *, now: dt.datetime) -> None:
    """Insert (profile_id, namespace, value) identities."""
    if not rows:
        return
    if not _postgres():
        Identity.objects.bulk_create(
            Identity(profile_id=pk, namespace=ns, value=v, created_at=now) for pk, ns, v in rows
        )
        return
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {Identity._meta.db_table} (profile_id, namespace, value, created_at) "
            "SELECT p, ns, v, %s FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(p, ns, v)",
            [now, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )


def memberships_insert(rows: Sequence[tuple[int, str, str]], *, now: dt.datetime) -> None:
    """Insert (profile_id, segment_id, status) memberships qualified now."""
    if not rows:
        return
    if not _postgres():
        SegmentMembership.objects.bulk_create(
            SegmentMembership(
                profile_id=pk, segment_id=sid, status=status, last_qualification_time=now
            )
            for pk, sid, status in rows
        )
        return
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {SegmentMembership._meta.db_table} "
            "(profile_id, segment_id, status, last_qualification_time, updated_at) "
            "SELECT p, s, st, %s, %s FROM unnest(%s::bigint[], %s::uuid[], %s::text[]) "
            "AS t(p, s, st)",
            [
                now,
                now,
                [r[0] for r in rows],
                [uuid.UUID(str(r[1])) for r in rows],
                [r[2] for r in rows],
            ],
        )


def memberships_update(rows: Sequence[tuple[int, str, dt.datetime]], *, now: dt.datetime) -> None:
    """Set (membership id, status, last_qualification_time)."""
    if not rows:
        return
    if not _postgres():
        memberships = [
            SegmentMembership(id=mid, status=status, last_qualification_time=lqt, updated_at=now)
            for mid, status, lqt in rows
        ]
        SegmentMembership.objects.bulk_update(
            memberships, ["status", "last_qualification_time", "updated_at"]
        )
        return
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {SegmentMembership._meta.db_table} AS m "
            "SET status = u.st, last_qualification_time = u.q, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS u(id, st, q) "
            "WHERE m.id = u.id",
            [now, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )


def changes_insert(rows: Sequence[ChangeRow], *, now: dt.datetime) -> None:
    """Insert change rows: (profile_id, written, changed, added, removed, memberships, source).

    txid is left to the column default: the writing transaction's id.
    """
    if not rows:
        return
    if not _postgres():
        ProfileChange.objects.bulk_create(
            ProfileChange(
                profile_id=r[0],
                written_paths=r[1],
                changed_paths=r[2],
                identities_added=r[3],
                identities_removed=r[4],
                membership_changes=r[5],
                source=r[6],
                created_at=now,
            )
            for r in rows
        )
        return
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {ProfileChange._meta.db_table} (profile_id, written_paths, "
            "changed_paths, identities_added, identities_removed, membership_changes, source, "
            "created_at) SELECT p, w, c, a, r, m, s, %s FROM unnest(%s::bigint[], %s::jsonb[], "
            "%s::jsonb[], %s::jsonb[], %s::jsonb[], %s::jsonb[], %s::text[]) "
            "AS t(p, w, c, a, r, m, s)",
            [
                now,
                list(columns[0]),
                *([_dumps(v) for v in column] for column in columns[1:6]),
                list(columns[6]),
            ],
        )
