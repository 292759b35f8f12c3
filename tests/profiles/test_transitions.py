import datetime as dt

import pytest
from django.utils import timezone

from profiles import segments as segment_services
from profiles.models import Profile, ProfileChange, Segment, SegmentMembership
from profiles.segments import (
    membership_transition,
    segment_create,
    segment_evaluate,
    segment_update,
    segments_schedule_all,
)
from profiles.services import profile_upsert, profiles_upsert

pytestmark = pytest.mark.django_db

GOLD = {"path": "loyalty.tier", "op": "equals", "value": "gold"}


def write(email, **attributes):
    record = {"identityMap": {"email": [{"id": email}]}, "attributes": attributes}
    return profile_upsert(record=record, source="api")


def membership(segment, profile_id):
    return SegmentMembership.objects.filter(segment=segment, profile_id=profile_id).first()


def last_change(profile_id):
    return ProfileChange.objects.filter(profile_id=profile_id).order_by("-id").first()


@pytest.mark.parametrize(
    ("status", "qualifies", "expected"),
    [
        (None, True, "realized"),
        ("exited", True, "realized"),
        ("realized", True, "existing"),
        ("existing", True, None),
        (None, False, None),
        ("exited", False, None),
        ("realized", False, "exited"),
        ("existing", False, "exited"),
    ],
)
def test_membership_transition_table(status, qualifies, expected):
    assert membership_transition(status, qualifies) == expected


def test_streaming_transitions_through_the_write_path():
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    key = str(segment.pk)

    created = write("a@x.io", loyalty={"tier": "gold"})
    first = membership(segment, created.profile_id)
    assert first.status == "realized"
    assert timezone.now() - first.last_qualification_time < dt.timedelta(seconds=5)
    assert last_change(created.profile_id).membership_changes == {key: "realized"}

    write("a@x.io", name="Ann")
    second = membership(segment, created.profile_id)
    assert second.status == "existing"
    assert second.last_qualification_time == first.last_qualification_time
    assert last_change(created.profile_id).membership_changes == {}

    write("a@x.io", loyalty={"tier": "silver"})
    third = membership(segment, created.profile_id)
    assert third.status == "exited"
    assert third.last_qualification_time > first.last_qualification_time
    assert last_change(created.profile_id).membership_changes == {key: "exited"}

    write("a@x.io", loyalty={"tier": "silver", "points": 1})
    assert membership(segment, created.profile_id).status == "exited"
    assert last_change(created.profile_id).membership_changes == {}

    write("a@x.io", loyalty={"tier": "gold"})
    assert membership(segment, created.profile_id).status == "realized"
    assert last_change(created.profile_id).membership_changes == {key: "realized"}


def test_profiles_that_never_qualify_get_no_membership_and_inactive_segments_are_skipped():
    gold = segment_create(name="Gold", rule=GOLD, evaluate=False)
    off = segment_create(name="Off", rule=GOLD, active=False, evaluate=False)
    silver = write("s@x.io", loyalty={"tier": "silver"})
    golden = write("g@x.io", loyalty={"tier": "gold"})
    assert membership(gold, silver.profile_id) is None
    assert membership(off, golden.profile_id) is None
    assert membership(gold, golden.profile_id).status == "realized"


def test_one_write_can_enter_one_segment_and_leave_another():
    gold = segment_create(name="Gold", rule=GOLD, evaluate=False)
    silver = segment_create(
        name="Silver",
        rule={"path": "loyalty.tier", "op": "equals", "value": "silver"},
        evaluate=False,
    )
    result = write("a@x.io", loyalty={"tier": "silver"})
    write("a@x.io", loyalty={"tier": "gold"})
    assert last_change(result.profile_id).membership_changes == {
        str(gold.pk): "realized",
        str(silver.pk): "exited",
    }


def make_profiles(tiers):
    return profiles_upsert(
        records=[
            {"identityMap": {"crmid": [{"id": f"C{i}"}]}, "attributes": {"loyalty": {"tier": t}}}
            for i, t in enumerate(tiers)
        ],
        source="import",
    )


@pytest.mark.parametrize("chunk_size", [2, 1000])
def test_batch_evaluation_realizes_then_promotes_then_exits(chunk_size):
    results = make_profiles(["gold", "silver", "gold", "gold", "bronze"])
    pids = [r.profile_id for r in results]
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    key = str(segment.pk)
    before = ProfileChange.objects.count()

    stats = segment_evaluate(segment_id=segment.pk, chunk_size=chunk_size)
    assert stats.completed and stats.realized == 3
    assert {m.profile_id: m.status for m in segment.memberships.all()} == {
        pids[0]: "realized",
        pids[2]: "realized",
        pids[3]: "realized",
    }
    new_changes = ProfileChange.objects.filter(id__gt=0).order_by("id")[before:]
    assert [(c.profile_id, c.membership_changes, c.source) for c in new_changes] == [
        (pid, {key: "realized"}, "segment") for pid in (pids[0], pids[2], pids[3])
    ]
    segment.refresh_from_db()
    assert segment.evaluated_at is not None

    count = ProfileChange.objects.count()
    stats = segment_evaluate(segment_id=segment.pk, chunk_size=chunk_size)
    assert stats.existing == 3 and stats.realized == 0
    assert set(segment.memberships.values_list("status", flat=True)) == {"existing"}
    assert ProfileChange.objects.count() == count, "realized -> existing is not a change"

    segment.rule = {"path": "loyalty.tier", "op": "in", "value": ["silver", "bronze"]}
    segment.save()
    stats = segment_evaluate(segment_id=segment.pk, chunk_size=chunk_size)
    assert (stats.realized, stats.exited) == (2, 3)
    statuses = dict(segment.memberships.values_list("profile_id", "status"))
    assert statuses == {
        pids[0]: "exited",
        pids[1]: "realized",
        pids[2]: "exited",
        pids[3]: "exited",
        pids[4]: "realized",
    }


def test_batch_evaluation_stops_when_the_segment_is_edited_meanwhile():
    make_profiles(["gold"] * 6)
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)

    def edit(done, total):
        Segment.objects.filter(pk=segment.pk).update(updated_at=timezone.now())

    stats = segment_evaluate(segment_id=segment.pk, chunk_size=2, on_progress=edit)
    assert not stats.completed
    assert segment.memberships.count() == 2


def test_batch_evaluation_ignores_inactive_or_missing_segments():
    make_profiles(["gold"])
    segment = segment_create(name="Gold", rule=GOLD, active=False, evaluate=False)
    assert not segment_evaluate(segment_id=segment.pk).completed
    segment.delete()
    assert not segment_evaluate(segment_id=segment.pk).completed
    assert SegmentMembership.objects.count() == 0


def test_saving_a_rule_schedules_a_batch_evaluation(
    django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "profiles.tasks.segment_evaluate_task.delay", lambda segment_id: queued.append(segment_id)
    )
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(name="Gold", rule=GOLD)
    assert queued == [str(segment.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(segment=segment, name="Renamed", rule=GOLD, description="d", active=True)
    assert queued == [str(segment.pk)], "a rename alone does not re-evaluate"
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(
            segment=segment,
            name="Renamed",
            rule={**GOLD, "value": "x"},
            description="",
            active=True,
        )
    assert queued == [str(segment.pk)] * 2
    with django_capture_on_commit_callbacks(execute=True):
        segment_create(name="Off", rule=GOLD, active=False)
        assert segments_schedule_all() == 1
    assert queued == [str(segment.pk)] * 3


def test_segment_services_validate_the_rule():
    from profiles.rules import InvalidRuleError

    with pytest.raises(InvalidRuleError):
        segment_services.segment_create(name="Bad", rule={"path": "a", "op": "nope"})
    assert not Segment.objects.exists()


def test_rule_match_count_agrees_with_evaluation():
    from profiles.selectors import rule_match_count

    make_profiles(["gold", "silver", "gold"])
    assert rule_match_count(GOLD) == 2
    assert rule_match_count({"not": GOLD}) == 1
    assert Profile.objects.count() == 3
