"""Change capture: read the profile changes committed since a cursor, never skipping one.

Every write to a profile (profiles.services) inserts a ``ProfileChange`` row in
the write's own transaction: which attribute paths were written, which
identities were added or removed, and which segment memberships transitioned.
Consumers (the export engine) keep a ``ChangeCursor`` and repeatedly ask
``changes_after(cursor, limit=...)``, then store ``cursor_of(last change)``.

The pitfall this module avoids
------------------------------
Ids come from a sequence when the row is *inserted*, but rows become visible
when their transaction *commits*. Transaction A can take id 10, transaction B
id 11, B commits first: a reader that saw 11 and stored "after 11" would never
see 10 once A commits. So ids alone cannot be a cursor.

PostgreSQL: ordering by transaction id, reading only settled transactions
-------------------------------------------------------------------------
``ProfileChange.txid`` is set by the database to ``pg_current_xact_id()`` of
the writing transaction (a column default, see ``CurrentTxid``); all rows of
one transaction share it. A reader returns only rows whose txid is below the
*safe horizon* of its statement's snapshot: the smallest id the snapshot
lists as still running (``pg_snapshot_xip``), or else ``pg_snapshot_xmax``
(one past the latest finished transaction; every id at or above it was
unfinished or unassigned when the snapshot was taken). Below the horizon every
transaction has finished, committed or rolled back, and a transaction that
could still insert a row is at or above it (new transactions get larger ids).
The set of rows below the horizon is final, so reading it in ``(txid, id)``
order with ``(txid, id) > cursor`` can never skip a row; a running
transaction's rows are returned later, once the horizon passes them. The
``(txid, id)`` index makes each read a range scan: time proportional to the
rows returned, never to the number of profiles.

Transactions of *other databases* on the server cannot write this table:
their ids are left out of the horizon when ``pg_stat_activity`` names their
database (it keeps 32-bit ids, hence the modulo; an id it does not name is
kept, which can only delay a reader, never skip a row).

A reader inside its own writing transaction (a test wrapped in a transaction,
say) has an id above the horizon, so its own rows would stay invisible to it.
When no other session connected to this database holds a transaction id, the
horizon is raised to just past the reader's own id: every smaller id of this
database has then finished (a session shows its id in ``pg_stat_activity``
from the moment it is assigned until its transaction ends, and this check runs
before the reading statement takes its snapshot). Such a reader must not write
more changes after reading in that same transaction.

Costs to know: a long-running transaction in this database delays readers
until it ends (it never causes a change to be lost).

SQLite
------
SQLite runs one writer at a time (``BEGIN IMMEDIATE`` takes the write lock up
front; see settings), so ids are handed out in commit order and every row
with an id is committed or rolled back by the time a reader can see a later
one. ``txid`` stays 0 and the cursor is the id alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection

from profiles.attributes import paths_overlap
from profiles.models import ProfileChange

_TABLE = ProfileChange._meta.db_table
_THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
_OTHER_DATABASES_XIDS = (
    "SELECT backend_xid::text::bigint FROM pg_stat_activity "
    f"WHERE backend_xid IS NOT NULL AND datid <> {_THIS_DATABASE}"
)
# The safe horizon (see above), evaluated once per statement on its snapshot;
# %s is the reader's own-writes floor (0 when it does not apply).
_HORIZON = (
    "GREATEST(%s, (SELECT COALESCE(min(x::text::bigint), "
    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"
    " FROM pg_snapshot_xip(pg_current_snapshot()) AS x"
    f" WHERE mod(x::text::bigint, 4294967296) NOT IN ({_OTHER_DATABASES_XIDS})))"
)
# Other sessions of this database that hold a transaction id (or whose state we
# may not see, counted to be safe).
_OTHER_WRITERS_HERE = (
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
    f"AND datid = {_THIS_DATABASE} AND (backend_xid IS NOT NULL OR state IS NULL)"
)


@dataclass(frozen=True, order=True)
class ChangeCursor:
    """A position in the change log: everything up to (txid, change_id) has been read."""

    txid: int
    change_id: int


START = ChangeCursor(0, 0)


def cursor_of(change: ProfileChange | ChangeRow) -> ChangeCursor:
    """The cursor just past change."""
    return ChangeCursor(change.txid, change.id)


def changes_after(cursor: ChangeCursor, *, limit: int) -> list[ProfileChange]:
    """Up to limit settled changes after cursor, in (txid, id) order."""
    if limit <= 0:
        return []
    if connection.vendor == "postgresql":
        sql, params = _settled_after_postgresql("*", cursor, limit)
    else:
        sql = f"SELECT * FROM {_TABLE} WHERE id > %s ORDER BY id LIMIT %s"
        params = [cursor.change_id, limit]
    return list(ProfileChange.objects.raw(sql, params))


class ChangeRow(NamedTuple):
    """The fields of a ProfileChange a consumer decides on, as a plain tuple."""

    txid: int
    id: int
    profile_id: int
    written_paths: list[str]
    changed_paths: list[str]
    # An identity was added or removed (which ones does not matter to a consumer).
    identities_changed: bool
    membership_changes: dict[str, str]


def change_rows_after(cursor: ChangeCursor, *, limit: int) -> list[ChangeRow]:
    """`changes_after` as plain rows: the same changes, same order, same horizon.

    The exporter's hot path: a model instance per change (five JSON fields
    decoded one by one) cost more than everything it decides. On PostgreSQL the
    chunk comes back as one JSON array, decoded in one call.
    """
    if limit <= 0:
        return []
    if connection.vendor != "postgresql":
        return [
            ChangeRow(txid, id_, profile_id, written, changed, bool(added or removed), members)
            for txid, id_, profile_id, written, changed, added, removed, members in (
                ProfileChange.objects.filter(id__gt=cursor.change_id)
                .order_by("id")
                .values_list(
                    "txid",
                    "id",
                    "profile_id",
                    "written_paths",
                    "changed_paths",
                    "identities_added",
                    "identities_removed",
                    "membership_changes",
                )[:limit]
            )
        ]
    settled, params = _settled_after_postgresql(
        "txid, id, profile_id, written_paths, changed_paths, membership_changes, "
        "(identities_added <> '[]'::jsonb OR identities_removed <> '[]'::jsonb) AS identities",
        cursor,
        limit,
    )
    sql = (
        "SELECT COALESCE(json_agg(json_build_array(c.txid, c.id, c.profile_id, c.written_paths, "
        "c.changed_paths, c.identities IS TRUE, c.membership_changes) ORDER BY c.txid, c.id), "
        f"'[]')::text FROM ({settled}) c"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = json.loads(cur.fetchone()[0])
    return list(map(ChangeRow._make, rows))


def _settled_after_postgresql(
    columns: str, cursor: ChangeCursor, limit: int
) -> tuple[str, list[object]]:
    """The one query of settled changes after cursor (see the module docstring)."""
    sql = (
        f"SELECT {columns} FROM {_TABLE} WHERE (txid, id) > (%s, %s) AND txid < {_HORIZON} "
        "ORDER BY txid, id LIMIT %s"
    )
    return sql, [cursor.txid, cursor.change_id, _own_transaction()[1], limit]


def head_cursor() -> ChangeCursor:
    """A cursor after which every change not yet settled (or not yet written) will appear.

    Take it *before* reading current state (e.g. a backfill of a segment's
    members): every change that state may miss is after this cursor. Changes
    of transactions that finished just before the call may be returned again
    after it (at-least-once), never skipped.
    """
    with connection.cursor() as cur:
        if connection.vendor != "postgresql":
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_TABLE}")
            return ChangeCursor(0, cur.fetchone()[0])
        own, floor = _own_transaction()
        cur.execute(f"SELECT {_HORIZON}", [floor])
        horizon = cur.fetchone()[0]
        if own is None or horizon <= own:
            return ChangeCursor(horizon, 0)
        # Inside a transaction that wrote: its later writes share its txid, so
        # the cursor stops at its last row instead of jumping past its id.
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_TABLE} WHERE txid = %s", [own])
        return ChangeCursor(own, cur.fetchone()[0])


def _own_transaction() -> tuple[int | None, int]:
    """(the reader's own transaction id or None, the own-writes floor: own + 1 or 0)."""
    with connection.cursor() as cur:
        # pg_stat_activity is cached for the rest of a transaction once read.
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            f"SELECT pg_current_xact_id_if_assigned()::text::bigint, ({_OTHER_WRITERS_HERE})"
        )
        own, others = cur.fetchone()
    return own, (own + 1 if own is not None and others == 0 else 0)


def change_touches_paths(change: ProfileChange, paths: list[str]) -> bool:
    """True when change wrote any of paths (or an object above or below one of them)."""
    return any(paths_overlap(w, p) for w in change.written_paths for p in paths)
