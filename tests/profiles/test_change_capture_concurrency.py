"""Concurrent writers on PostgreSQL: a reader never skips a change committed out of order."""

import random
import threading
import time

import pytest
from django.db import connection, connections, transaction

from profiles.changes import _HORIZON, START, ChangeCursor, changes_after, cursor_of
from profiles.models import ProfileChange
from profiles.services import profile_upsert

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent change capture is a PostgreSQL property")


def write(email, **attributes):
    record = {"identityMap": {"email": [{"id": email}]}, "attributes": attributes}
    return profile_upsert(record=record, source="api")


class Writer(threading.Thread):
    """Runs steps inside one transaction, pausing where the test says."""

    def __init__(self, steps):
        super().__init__(daemon=True)
        self.steps = steps
        self.error = None

    def run(self):
        try:
            with transaction.atomic():
                for step in self.steps:
                    step()
        except Exception as exc:  # surfaced by the test
            self.error = exc
        finally:
            connections.close_all()


def naive_ids_after(last_id):
    """The classic outbox reader this module exists to avoid: committed rows by id."""
    return list(ProfileChange.objects.filter(id__gt=last_id).order_by("id"))


def test_a_change_inserted_first_but_committed_last_is_not_skipped():
    a_wrote, a_may_commit = threading.Event(), threading.Event()
    writer_a = Writer([lambda: write("a@x.io", n=1), a_wrote.set, lambda: a_may_commit.wait(10)])
    writer_a.start()
    assert a_wrote.wait(10)

    b = write("b@x.io", n=2)  # autocommit: B takes a later id and commits first

    naive = naive_ids_after(0)
    assert [c.profile_id for c in naive] == [b.profile_id], "B is visible, A is not yet"
    assert changes_after(START, limit=100) == [], "A is still running: nothing is safe yet"

    a_may_commit.set()
    writer_a.join(10)
    assert writer_a.error is None
    changes = changes_after(START, limit=100)
    assert [c.profile_id for c in changes][-1] == b.profile_id
    assert len(changes) == 2
    # The naive cursor stored "after B"; A's change, with a smaller id, is lost to it.
    assert naive_ids_after(naive[-1].id) == []


def test_a_transaction_with_an_older_txid_that_writes_later_is_read_first():
    started, may_write = threading.Event(), threading.Event()

    def take_txid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
        started.set()

    writer_a = Writer([take_txid, lambda: may_write.wait(10), lambda: write("a@x.io", n=1)])
    writer_a.start()
    assert started.wait(10)
    b = write("b@x.io", n=2)  # smaller id, larger txid, committed first
    assert changes_after(START, limit=100) == []
    may_write.set()
    writer_a.join(10)
    assert writer_a.error is None

    changes = changes_after(START, limit=100)
    assert [c.profile_id for c in changes][1] == b.profile_id
    a_change, b_change = changes
    assert a_change.id > b_change.id and a_change.txid < b_change.txid


def test_many_writers_and_a_polling_reader_see_every_change_exactly_once():
    rng = random.Random(3)
    writers_done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    write(f"w{n}-{i % 4}@x.io", n=i)
                    time.sleep(rng.random() * 0.02)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def reader() -> None:
        cursor = START
        try:
            while True:
                finished = writers_done.is_set()
                batch = changes_after(cursor, limit=5)
                seen.extend(c.id for c in batch)
                if batch:
                    cursor = cursor_of(batch[-1])
                elif finished and len(seen) >= ProfileChange.objects.count():
                    return
                else:
                    time.sleep(0.005)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(4)]
    polling = threading.Thread(target=reader, daemon=True)
    polling.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    writers_done.set()
    polling.join(60)

    assert not errors
    everything = list(ProfileChange.objects.order_by("txid", "id").values_list("id", flat=True))
    assert len(everything) == 60
    assert seen == everything, "every change, once, in (txid, id) order"


def test_reading_is_a_range_scan_on_the_cursor_index():
    write("a@x.io", n=1)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT * FROM profiles_profilechange WHERE (txid, id) > (%s, %s) "
            f"AND txid < {_HORIZON} "
            "ORDER BY txid, id LIMIT 10",
            [0, 0, 0],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "profilechange_cursor" in plan
    assert ChangeCursor(0, 0) == START


def test_a_reader_sees_its_own_uncommitted_writes_only_when_no_older_writer_is_open():
    holding, release = threading.Event(), threading.Event()

    def take_txid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
        holding.set()

    with transaction.atomic():
        own = write("me@x.io", n=1)
        assert [c.profile_id for c in changes_after(START, limit=10)] == [own.profile_id]

    older = Writer([take_txid, lambda: release.wait(10)])
    older.start()
    assert holding.wait(10)
    with transaction.atomic():
        mine = write("me-too@x.io", n=2)  # a younger transaction than the open one
        after_first = changes_after(START, limit=10)
        assert [c.profile_id for c in after_first] == [own.profile_id], (
            "an older transaction is still open: it could still write before mine"
        )
        release.set()
        older.join(10)
        assert [c.profile_id for c in changes_after(START, limit=10)] == [
            own.profile_id,
            mine.profile_id,
        ]


def test_two_writers_creating_the_same_identity_end_with_one_profile():
    from profiles.models import Identity, Profile

    a_wrote, a_may_commit = threading.Event(), threading.Event()
    writer_a = Writer([lambda: write("same@x.io", a=1), a_wrote.set, lambda: a_may_commit.wait(10)])
    writer_a.start()
    assert a_wrote.wait(10)
    result: list = []
    # B does not see A's uncommitted profile, tries to create its own, and waits
    # on the unique identity index until A commits; then it retries and matches.
    writer_b = threading.Thread(
        target=lambda: (result.append(write("same@x.io", b=2)), connections.close_all()),
        daemon=True,
    )
    writer_b.start()
    time.sleep(0.5)
    a_may_commit.set()
    writer_a.join(10)
    writer_b.join(20)
    assert writer_a.error is None
    assert result and result[0].status == "updated"
    assert Profile.objects.count() == 1
    assert Profile.objects.get().attributes == {"a": 1, "b": 2}
    assert Identity.objects.filter(value="same@x.io").count() == 1
