"""The audience read: only the changes a dataflow can act on leave the database, and
the cursor still moves past every change, kept or not."""

import pytest

from profiles import changes
from profiles.changes import START, Audience, Consumer, audience_rows_after, change_rows_after
from profiles.segments import segment_create
from profiles.services import profile_upsert

pytestmark = pytest.mark.django_db

GOLD = {"path": "loyalty.tier", "op": "equals", "value": "gold"}


def write(email, **attributes):
    record = {"identityMap": {"email": [{"id": email}]}, "attributes": attributes}
    return profile_upsert(record=record, source="api").profile_id


@pytest.fixture
def world():
    vip = segment_create(name="VIP", rule=GOLD, evaluate=False)
    ann = write("ann@x.io", loyalty={"tier": "gold"}, person={"name": {"firstName": "Ann"}})
    write("out@x.io", loyalty={"tier": "bronze"}, person={"name": {"firstName": "Out"}})
    write("ann@x.io", preferences={"newsletter": True})  # unmapped path: not kept
    write("ann@x.io", person={"name": {"firstName": "Ann2"}})  # below `person.name`
    write("out@x.io", person={"name": {"firstName": "Out2"}})  # not in the audience
    bob = write("bob@x.io", loyalty={"tier": "gold"})
    write("bob@x.io", loyalty={"tier": "silver"})  # leaves: kept ("exited")
    write("bob@x.io", person={"name": {"firstName": "Bob"}})  # no longer a member
    audience = Audience(segment_ids=(str(vip.pk),), paths=("person.name",))
    return audience, ann, bob


def read_all(audience, limit):
    kept, cursor, reads = [], START, 0
    while True:
        read = audience_rows_after(cursor, audience, limit=limit, window_size=3)
        reads += 1
        if read.cursor == cursor:
            return kept, cursor, reads
        kept += read.rows
        cursor = read.cursor


@pytest.mark.parametrize("small_audience", [1_000, 0], ids=["by member", "by window"])
@pytest.mark.parametrize("limit", [1, 2, 100])
def test_only_the_audiences_changes_are_read_and_the_cursor_passes_all(
    world, monkeypatch, small_audience, limit
):
    audience, ann, bob = world
    monkeypatch.setattr(changes, "SMALL_AUDIENCE", small_audience)

    kept, cursor, _ = read_all(audience, limit)

    everything = change_rows_after(START, limit=100)
    assert [(row.profile_id, row.written_paths) for row in kept] == [
        (ann, ["loyalty.tier", "person.name.firstName"]),
        (ann, ["person.name.firstName"]),
        (bob, ["loyalty.tier"]),
        (bob, ["loyalty.tier"]),
    ]
    assert kept[-1].membership_changes and set(kept[-1].membership_changes.values()) == {"exited"}
    assert cursor == changes.cursor_of(everything[-1])


def test_without_a_mapped_path_written_only_segment_moves_are_kept(world):
    audience, *_ = world
    unwritten = Audience(segment_ids=audience.segment_ids, paths=("unmapped.path",))

    read = audience_rows_after(START, unwritten, limit=10)

    assert [set(r.membership_changes.values()) for r in read.rows] == [
        {"realized"},
        {"realized"},
        {"exited"},
    ]
    assert read.drained and read.cursor == changes.cursor_of(
        change_rows_after(START, limit=100)[-1]
    )


def test_one_pass_tells_which_consumers_have_changes_of_their_audience(world):
    audience, *_ = world
    other = segment_create(name="Nobody", rule={"path": "x", "op": "exists"}, evaluate=False)
    everything = change_rows_after(START, limit=100)
    last = changes.cursor_of(everything[-1])

    scan = changes.consumers_pending(
        [
            Consumer(1, START, audience.segment_ids),
            Consumer(2, START, (str(other.pk),)),
            Consumer(3, last, audience.segment_ids),
        ]
    )

    assert (scan.pending, scan.idle, scan.last) == ({1}, {2}, last)
