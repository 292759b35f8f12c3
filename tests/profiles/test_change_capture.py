import pytest

from profiles.changes import (
    START,
    ChangeCursor,
    change_rows_after,
    change_touches_paths,
    changes_after,
    cursor_of,
    head_cursor,
)
from profiles.models import ProfileChange
from profiles.services import profile_upsert
from profiles.signals import profiles_changed

pytestmark = pytest.mark.django_db


def write(email, **attributes):
    record = {"identityMap": {"email": [{"id": email}]}, "attributes": attributes}
    return profile_upsert(record=record, source="api")


def read_all(cursor=START, limit=2):
    seen = []
    while True:
        batch = changes_after(cursor, limit=limit)
        if not batch:
            return seen, cursor
        seen.extend(batch)
        cursor = cursor_of(batch[-1])


def test_a_reader_pages_through_every_change_in_order():
    written = [write(f"p{i}@x.io", n=i).profile_id for i in range(5)]
    seen, cursor = read_all()
    assert [c.profile_id for c in seen] == written
    assert changes_after(cursor, limit=10) == []
    write("p9@x.io", n=9)
    assert [c.profile_id for c in changes_after(cursor, limit=10)] == [
        ProfileChange.objects.latest("id").profile_id
    ]


def test_head_cursor_skips_what_is_already_committed_but_not_what_follows():
    write("old@x.io", n=1)
    head = head_cursor()
    assert head >= START
    new = write("new@x.io", n=2)
    after = changes_after(head, limit=100)
    assert new.profile_id in [c.profile_id for c in after]


def test_limit_zero_reads_nothing():
    write("a@x.io", n=1)
    assert changes_after(START, limit=0) == []


def test_cursor_of_and_order():
    write("a@x.io", n=1)
    change = changes_after(START, limit=1)[0]
    assert cursor_of(change) == ChangeCursor(change.txid, change.id)
    assert ChangeCursor(1, 5) < ChangeCursor(2, 1) < ChangeCursor(2, 3)


def test_change_touches_paths_sees_writes_above_and_below_a_mapped_path():
    change = ProfileChange(written_paths=["person.name", "loyalty.points"])
    assert change_touches_paths(change, ["person.name.firstName"])
    assert change_touches_paths(change, ["loyalty"])
    assert not change_touches_paths(change, ["personalEmail.address"])


def test_profiles_changed_is_sent_after_commit(django_capture_on_commit_callbacks):
    received = []

    def listener(sender, profile_ids, **kwargs):
        received.append(profile_ids)

    profiles_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = write("a@x.io", n=1)
        assert received == [], "nothing is sent before the transaction commits"
        for callback in callbacks:
            callback()
        assert received == [[result.profile_id]]
    finally:
        profiles_changed.disconnect(listener)


@pytest.mark.django_db(transaction=True)
def test_profiles_changed_is_not_sent_when_the_transaction_rolls_back():
    from django.db import transaction

    received = []

    def listener(sender, profile_ids, **kwargs):
        received.append(profile_ids)

    profiles_changed.connect(listener)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            write("a@x.io", n=1)
            raise RuntimeError("boom")
        assert received == []
        assert ProfileChange.objects.count() == 0
        write("b@x.io", n=1)
        assert len(received) == 1
    finally:
        profiles_changed.disconnect(listener)


def test_change_rows_after_reads_the_same_changes_as_changes_after_in_pages():
    first = write("a@x.io", n=1)
    write("b@x.io", n=2)
    profile_upsert(
        record={"identityMap": {"email": [{"id": "a@x.io"}]}, "attributes": {"n": 3}},
        source="api",
    )
    expected = changes_after(START, limit=100)
    rows, cursor = [], START
    while batch := change_rows_after(cursor, limit=2):
        rows.extend(batch)
        cursor = cursor_of(batch[-1])
    assert [(r.txid, r.id, r.profile_id) for r in rows] == [
        (c.txid, c.id, c.profile_id) for c in expected
    ]
    assert [r.written_paths for r in rows] == [c.written_paths for c in expected]
    assert [r.membership_changes for r in rows] == [c.membership_changes for c in expected]
    # A new profile's identity was added; writing it again by the same identity adds none.
    assert [r.identities_changed for r in rows] == [True, True, False]
    assert rows[2].profile_id == first.profile_id
    assert change_rows_after(cursor, limit=10) == []
    assert change_rows_after(START, limit=0) == []
