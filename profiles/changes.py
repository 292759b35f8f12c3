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
the writing transaction (a column default, see ``CurrentTxid``). Readers only
return rows with ``txid < pg_snapshot_xmin(pg_current_snapshot())``: xmin is
the oldest transaction still running, so every transaction below it has
finished (committed or rolled back) and no transaction that could still insert
a row has a txid below it (new transactions always get larger ids). The set of
rows below xmin is therefore final, and reading it in ``(txid, id)`` order with
a ``(txid, id) > cursor`` condition can never skip a row. A row of a
transaction still running is simply returned later, once xmin passes it.
The ``(txid, id)`` index makes each read a range scan: time proportional to
the rows returned, never to the number of profiles.

Costs to know: xmin is cluster-wide, so a long-running transaction anywhere on
the server (even in another database) delays readers until it ends; it never
causes a change to be lost. A reader must not call this inside a transaction
that has itself written (its own xid would hold xmin back); the export engine
reads in autocommit or read-only transactions.

SQLite
------
SQLite runs one writer at a time (``BEGIN IMMEDIATE`` takes the write lock up
front; see settings), so ids are handed out in commit order and every row
with an id is committed or rolled back by the time a reader can see a later
one. ``txid`` stays 0 and the cursor is the id alone.
"""

from dataclasses import dataclass

from django.db import connection

from profiles.attributes import paths_overlap
from profiles.models import ProfileChange

_TABLE = ProfileChange._meta.db_table
_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


@dataclass(frozen=True, order=True)
class ChangeCursor:
    """A position in the change log: everything up to (txid, change_id) has been read."""

    txid: int
    change_id: int


START = ChangeCursor(0, 0)


def cursor_of(change: ProfileChange) -> ChangeCursor:
    """The cursor just past change."""
    return ChangeCursor(change.txid, change.id)


def changes_after(cursor: ChangeCursor, *, limit: int) -> list[ProfileChange]:
    """Up to limit settled changes after cursor, in (txid, id) order."""
    if limit <= 0:
        return []
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT * FROM {_TABLE} WHERE (txid, id) > (%s, %s) AND txid < {_XMIN} "
            "ORDER BY txid, id LIMIT %s"
        )
        params = [cursor.txid, cursor.change_id, limit]
    else:
        sql = f"SELECT * FROM {_TABLE} WHERE id > %s ORDER BY id LIMIT %s"
        params = [cursor.change_id, limit]
    return list(ProfileChange.objects.raw(sql, params))


def head_cursor() -> ChangeCursor:
    """A cursor after which every change not yet settled (or not yet written) will appear.

    Take it *before* reading current state (e.g. a backfill of a segment's
    members): every change that state may miss is after this cursor. Changes
    of transactions that finished just before the call may be returned again
    after it (at-least-once), never skipped.
    """
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"SELECT {_XMIN}")
            return ChangeCursor(cur.fetchone()[0], 0)
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_TABLE}")
        return ChangeCursor(0, cur.fetchone()[0])


def change_touches_paths(change: ProfileChange, paths: list[str]) -> bool:
    """True when change wrote any of paths (or an object above or below one of them)."""
    return any(paths_overlap(w, p) for w in change.written_paths for p in paths)
