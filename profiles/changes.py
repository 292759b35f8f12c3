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

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection

from profiles.attributes import paths_overlap
from profiles.models import MEMBER_STATUSES, ProfileChange, SegmentMembership

_TABLE = ProfileChange._meta.db_table
_MEMBERSHIPS = SegmentMembership._meta.db_table
# MEMBER_STATUSES as SQL literals (fixed choice values), so the plan stays a constant IN.
_MEMBER_STATUSES_SQL = ", ".join(f"'{status}'" for status in MEMBER_STATUSES)
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
_HORIZON_NAMED = _HORIZON.replace("%s", "%(floor)s")
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


@dataclass(frozen=True)
class Audience:
    """Which changes a consumer (a dataflow) can act on, so the rest never leave the database.

    A change is kept when its profile moved into or out of one of `segment_ids`
    (``membership_changes`` names it), or when the profile is a current member
    (realized or existing) of one of them *and* the change added or removed an
    identity or wrote one of `paths` (a path above or below one counts too;
    `values_only`: changed its value). That is a superset of what the export
    rules keep (activation/export/decisions.py decides exactly on what comes
    back), and nothing outside it can be exported: no transition, not a member.
    """

    segment_ids: tuple[str, ...]
    paths: tuple[str, ...]
    values_only: bool = False


class AudienceRead(NamedTuple):
    """The audience's changes of one read, and where the next read starts."""

    rows: list[ChangeRow]
    # Past every change this read looked at, returned or not.
    cursor: ChangeCursor
    scanned: int
    # Every settled change was looked at: reading again now finds only newer ones.
    drained: bool


# Changes looked at per read at most: bounds one read's time when few are kept.
SCAN_WINDOW = 20_000
# Up to this many profiles with a membership row, an audience is read profile by
# profile instead of by walking the log.
SMALL_AUDIENCE = 1_000


def audience_rows_after(
    cursor: ChangeCursor, audience: Audience, *, limit: int, window_size: int = SCAN_WINDOW
) -> AudienceRead:
    """Up to `limit` settled changes after cursor that `audience` keeps, in (txid, id) order.

    Looks at no more than `window` settled changes. The returned cursor is the
    last row returned when `limit` were kept, else the last settled change
    looked at (the cursor stays put when there was none): every change up to it
    was either returned or is of no interest to the audience. Filtering happens
    in the database, in the statement that reads, so the horizon argument of
    the module docstring holds unchanged: the changes looked at are exactly
    the first `window` that `changes_after` would return.
    """
    if limit <= 0 or not audience.segment_ids:
        return AudienceRead([], cursor, 0, True)
    if connection.vendor != "postgresql":
        return _audience_rows_orm(cursor, audience, limit, window_size)
    paths = "c.changed_paths" if audience.values_only else "c.written_paths"
    prefixes, below = _path_patterns(audience.paths)
    after = (
        "(c.txid, c.id) > (%(txid)s, %(id)s) AND c.txid >= %(txid)s "
        "AND c.txid < (SELECT x FROM horizon)"
    )
    # The same condition hidden from the (txid, id) index, so a member's changes are
    # found through the profile_id index (the planner thinks few rows follow a
    # cursor and would walk the whole log once per member).
    by_profile = (
        "(c.txid + 0, c.id + 0) > (%(txid)s, %(id)s) AND c.txid + 0 < (SELECT x FROM horizon)"
    )
    identities = "(c.identities_added <> '[]'::jsonb OR c.identities_removed <> '[]'::jsonb)"
    keep = (
        "(c.membership_changes ?| %(segments)s OR ("
        # Membership first: for most rows of a busy log it is the one that fails.
        f"EXISTS (SELECT 1 FROM {_MEMBERSHIPS} m WHERE m.profile_id = c.profile_id "
        "AND m.segment_id = ANY(%(segments)s::uuid[]) "
        f"AND m.status IN ({_MEMBER_STATUSES_SQL})) "
        f"AND ({identities} OR {paths} ?| %(prefixes)s OR {paths}::text LIKE ANY(%(below)s))))"
    )
    columns = (
        "c.txid, c.id, c.profile_id, c.written_paths, c.changed_paths, c.membership_changes, "
        f"{identities} AS identities"
    )
    window = (
        f"SELECT {{columns}} FROM {_TABLE} c WHERE {after} ORDER BY c.txid, c.id LIMIT %(window)s"
    )
    sql = (
        f"WITH horizon AS MATERIALIZED (SELECT {_HORIZON_NAMED} AS x), "
        # A small audience is read member by member (the profile_id index): the
        # cost follows the audience, not the log. Else the log is read in order.
        f"small AS MATERIALIZED (SELECT count(*) <= %(small)s AS yes FROM (SELECT 1 FROM "
        f"{_MEMBERSHIPS} WHERE segment_id = ANY(%(segments)s::uuid[]) LIMIT %(small)s + 1) a), "
        "kept AS ((SELECT k.* FROM (SELECT DISTINCT profile_id FROM "
        f"{_MEMBERSHIPS} WHERE segment_id = ANY(%(segments)s::uuid[])) a, LATERAL ("
        f"SELECT {columns} FROM {_TABLE} c WHERE c.profile_id = a.profile_id AND {by_profile} "
        f"AND {keep} ORDER BY c.txid, c.id LIMIT %(limit)s) k "
        # (The LIMIT inside keeps the planner from flattening this into a log scan.)
        "WHERE (SELECT yes FROM small) ORDER BY k.txid, k.id LIMIT %(limit)s) "
        # The window streams through the filter (no ORDER BY above its own, so the
        # first rows kept are the oldest) and stops after `limit` rows kept.
        "UNION ALL (SELECT * FROM ("
        + window.format(columns=columns)
        + f") c WHERE NOT (SELECT yes FROM small) AND {keep.replace(identities, 'c.identities')}"
        " LIMIT %(limit)s)) "
        "SELECT (SELECT COALESCE(json_agg(json_build_array(k.txid, k.id, k.profile_id, "
        "k.written_paths, k.changed_paths, k.identities IS TRUE, k.membership_changes) "
        "ORDER BY k.txid, k.id), '[]')::text FROM kept k), "
        "(SELECT count(*) FROM kept), "
        # Only evaluated when fewer than limit were kept: where the next read starts.
        "CASE WHEN (SELECT count(*) FROM kept) >= %(limit)s THEN NULL "
        # Every settled change was considered: the newest of them (-1: all).
        "WHEN (SELECT yes FROM small) THEN (SELECT json_build_array(ARRAY[c.txid, c.id], -1)"
        f"::text FROM {_TABLE} c WHERE c.txid < (SELECT x FROM horizon) "
        "ORDER BY c.txid DESC, c.id DESC LIMIT 1) "
        # The window read again, on the index alone: its last change and size.
        "ELSE (SELECT json_build_array(max(ARRAY[c.txid, c.id]), count(*))::text FROM ("
        + window.format(columns="c.txid, c.id")
        + ") c) END"
    )
    params = {
        "txid": cursor.txid,
        "id": cursor.change_id,
        "window": window_size,
        "floor": _own_floor(),
        "segments": list(audience.segment_ids),
        "prefixes": prefixes,
        "below": below,
        "limit": limit,
        "small": SMALL_AUDIENCE,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
        kept_json, kept, last = cur.fetchone()
    rows = list(map(ChangeRow._make, json.loads(kept_json)))
    if kept >= limit:
        return AudienceRead(rows, cursor_of(rows[-1]), 0, False)
    newest, scanned = json.loads(last) if last else (None, 0)
    if not scanned or ChangeCursor(*newest) <= cursor:
        return AudienceRead(rows, cursor, 0, True)
    return AudienceRead(rows, ChangeCursor(*newest), max(scanned, 0), scanned < window_size)


class Consumer(NamedTuple):
    """A reader of the change log (a dataflow): its key, cursor and segments."""

    key: int
    cursor: ChangeCursor
    segment_ids: tuple[str, ...]


class PendingScan(NamedTuple):
    """What one pass over the log found (see `consumers_pending`)."""

    # Consumers with a change of a profile that is or was in one of their
    # segments after their cursor (or that the pass could not tell about).
    pending: set[int]
    # Consumers with no such change up to `last`: they may move their cursor there.
    idle: set[int]
    last: ChangeCursor | None


def consumers_pending(consumers: list[Consumer], *, window: int = 100_000) -> PendingScan:
    """One pass over the settled changes after the oldest cursor, for every consumer at once.

    The audience here is wider than `Audience` (any membership row, exited
    ones included, and any change), so a consumer called idle has nothing it
    could export up to `last`. One statement: the horizon argument holds.
    """
    if not consumers:
        return PendingScan(set(), set(), None)
    oldest = min(c.cursor for c in consumers)
    if connection.vendor != "postgresql":
        return _consumers_pending_orm(consumers, oldest, window)
    settled, params = _settled_after_postgresql("txid, id, profile_id", oldest, window)
    pairs = [(c.key, segment) for c in consumers for segment in c.segment_ids]
    sql = (
        f"WITH scanned AS ({settled}), "
        "per_profile AS (SELECT profile_id, max(ARRAY[txid, id]) AS newest FROM scanned "
        "GROUP BY profile_id), "
        "wants AS (SELECT * FROM unnest(%s::bigint[], %s::uuid[]) AS w(key, segment_id)), "
        "hits AS (SELECT w.key, max(p.newest) AS newest FROM per_profile p "
        f"JOIN {_MEMBERSHIPS} m ON m.profile_id = p.profile_id "
        "JOIN wants w ON w.segment_id = m.segment_id GROUP BY w.key) "
        "SELECT (SELECT COALESCE(json_agg(json_build_array(h.key, h.newest)), '[]')::text "
        "FROM hits h), "
        "(SELECT json_build_array(max(ARRAY[s.txid, s.id]), count(*))::text FROM scanned s)"
    )
    params += [[key for key, _ in pairs], [segment for _, segment in pairs]]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        hits_json, last_json = cur.fetchone()
    newest = {key: ChangeCursor(*pair) for key, pair in json.loads(hits_json)}
    last, scanned = json.loads(last_json)
    if not scanned:
        return PendingScan(set(), set(), None)
    return _pending_of(consumers, newest, ChangeCursor(*last), scanned >= window)


def _pending_of(
    consumers: list[Consumer], newest: dict[int, ChangeCursor], last: ChangeCursor, full: bool
) -> PendingScan:
    pending, idle = set(), set()
    for consumer in consumers:
        if consumer.key in newest and newest[consumer.key] > consumer.cursor:
            pending.add(consumer.key)
        elif consumer.cursor < last:
            idle.add(consumer.key)
        elif full:
            # Beyond what this pass looked at: it cannot tell, so say pending.
            pending.add(consumer.key)
    return PendingScan(pending, idle, last)


def _consumers_pending_orm(
    consumers: list[Consumer], oldest: ChangeCursor, window: int
) -> PendingScan:
    scanned = change_rows_after(oldest, limit=window)
    if not scanned:
        return PendingScan(set(), set(), None)
    newest_of: dict[int, ChangeCursor] = {}
    for row in scanned:
        newest_of[row.profile_id] = cursor_of(row)
    segments_of: dict[str, set[int]] = {}
    for consumer in consumers:
        for segment in consumer.segment_ids:
            segments_of.setdefault(segment, set()).add(consumer.key)
    newest: dict[int, ChangeCursor] = {}
    for profile_id, segment_id in SegmentMembership.objects.filter(
        profile_id__in=list(newest_of), segment_id__in=list(segments_of)
    ).values_list("profile_id", "segment_id"):
        for key in segments_of[str(segment_id)]:
            newest[key] = max(newest.get(key, START), newest_of[profile_id])
    return _pending_of(consumers, newest, cursor_of(scanned[-1]), len(scanned) >= window)


def _path_patterns(paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(`?|` keys, LIKE patterns) matching a written path at, above or below a mapped path.

    A path above (or equal to) a mapped one is one of its prefixes; a path below
    one starts with it and a dot, found in the JSON text of the array (valid
    paths hold no character JSON escapes; LIKE's own are escaped).
    """
    prefixes = sorted(
        {
            ".".join(parts[:i])
            for path in paths
            for parts in [path.split(".")]
            for i in range(1, len(parts) + 1)
        }
    )
    below = [
        '%"' + path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
        for path in paths
    ]
    return prefixes, below


def _audience_rows_orm(
    cursor: ChangeCursor, audience: Audience, limit: int, window: int
) -> AudienceRead:
    """SQLite: the same filter in Python over the window (tests and `make run` only)."""
    scanned = change_rows_after(cursor, limit=window)
    segments = set(audience.segment_ids)
    members = set(
        SegmentMembership.objects.filter(
            profile_id__in={row.profile_id for row in scanned},
            segment_id__in=segments,
            status__in=MEMBER_STATUSES,
        ).values_list("profile_id", flat=True)
    )
    kept: list[ChangeRow] = []
    for row in scanned:
        paths = row.changed_paths if audience.values_only else row.written_paths
        if segments & set(row.membership_changes) or (
            row.profile_id in members
            and (row.identities_changed or _touches(paths, audience.paths))
        ):
            kept.append(row)
            if len(kept) == limit:
                return AudienceRead(kept, cursor_of(row), 0, False)
    last = cursor_of(scanned[-1]) if scanned else cursor
    return AudienceRead(kept, last, len(scanned), len(scanned) < window)


def _settled_after_postgresql(
    columns: str, cursor: ChangeCursor, limit: int
) -> tuple[str, list[object]]:
    """The one query of settled changes after cursor (see the module docstring)."""
    sql = (
        f"SELECT {columns} FROM {_TABLE} WHERE (txid, id) > (%s, %s) AND txid < {_HORIZON} "
        "ORDER BY txid, id LIMIT %s"
    )
    return sql, [cursor.txid, cursor.change_id, _own_transaction()[1], limit]


def changes_delete_through(
    cursor: ChangeCursor, *, written_before: dt.datetime, batch: int = 5_000
) -> int:
    """Delete the changes at or before cursor written before `written_before`; how many.

    Oldest first, `batch` rows per statement, each its own short transaction
    (outside an atomic block): plain row deletes on the (txid, id) index, no
    table lock, so writers and readers carry on; autovacuum reuses the space.
    Only for a cursor every reader has passed (activation's change_log_prune).
    """
    if connection.vendor == "postgresql":
        sql = (
            f"DELETE FROM {_TABLE} WHERE id IN (SELECT id FROM {_TABLE} "
            "WHERE (txid, id) <= (%s, %s) AND created_at < %s ORDER BY txid, id LIMIT %s)"
        )
        params = [cursor.txid, cursor.change_id, written_before, batch]
    else:
        sql = (
            f"DELETE FROM {_TABLE} WHERE id IN (SELECT id FROM {_TABLE} "
            "WHERE id <= %s AND created_at < %s ORDER BY id LIMIT %s)"
        )
        params = [cursor.change_id, written_before, batch]
    deleted = 0
    while True:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            count = cur.rowcount
        deleted += count
        if count < batch:
            return deleted


def oldest_unread_written_at(cursor: ChangeCursor) -> dt.datetime | None:
    """When the first change after cursor (settled or not) was written; None when none."""
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT created_at FROM {_TABLE} WHERE (txid, id) > (%s, %s) AND txid >= %s "
            "ORDER BY txid, id LIMIT 1"
        )
        params = [cursor.txid, cursor.change_id, cursor.txid]
    else:
        sql = f"SELECT created_at FROM {_TABLE} WHERE id > %s ORDER BY id LIMIT 1"
        params = [cursor.change_id]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None
    moment = row[0]
    if isinstance(moment, str):  # SQLite hands back text
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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


def _own_floor() -> int:
    """`_own_transaction`'s floor, without asking when no transaction is open.

    Outside an atomic block each statement is its own transaction, which has no
    id before it writes: the floor is 0, and two round trips are saved.
    """
    if not connection.in_atomic_block:
        return 0
    return _own_transaction()[1]


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
    return _touches(change.written_paths, paths)


def _touches(written: list[str], paths: Iterable[str]) -> bool:
    return any(paths_overlap(w, p) for w in written for p in paths)
