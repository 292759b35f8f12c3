"""Batch evaluation in resumable chunks: each `segment_evaluate_task` evaluates a few id
ranges and queues the next task with its cursor, so no task nears the visibility timeout."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from profiles import segments as segment_services
from profiles import tasks
from profiles.models import ProfileChange, Segment
from profiles.segments import EvaluationCursor, segment_create, segment_evaluate_step
from tests.profiles.test_transitions import GOLD, make_profiles

pytestmark = pytest.mark.django_db

TIERS = ["gold", "silver", "gold", "gold", "bronze", "gold", "gold"]


def statuses(segment: Segment) -> dict[int, str]:
    return dict(segment.memberships.values_list("profile_id", "status"))


def test_steps_from_a_cursor_evaluate_what_one_call_does() -> None:
    pids = [r.profile_id for r in make_profiles(TIERS)]
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)

    stats, cursor = segment_evaluate_step(segment_id=segment.pk, chunks=1, chunk_size=2)
    assert cursor is not None and not stats.completed
    assert cursor.done == pids[1] and cursor.top == pids[-1]
    steps = 1
    while cursor is not None:
        stats, cursor = segment_evaluate_step(
            segment_id=segment.pk, cursor=cursor, chunks=1, chunk_size=2
        )
        steps += 1
    assert stats.completed and steps == 4  # 7 profiles, 2 per range: the 4th range ends it
    assert statuses(segment) == {
        pid: "realized" for pid, t in zip(pids, TIERS, strict=True) if t == "gold"
    }
    segment.refresh_from_db()
    assert segment.evaluated_at is not None


def test_a_step_run_again_exports_nothing_more() -> None:
    make_profiles(TIERS)
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    _, cursor = segment_evaluate_step(segment_id=segment.pk, chunks=1, chunk_size=2)
    first, _ = segment_evaluate_step(segment_id=segment.pk, cursor=cursor, chunks=1, chunk_size=2)
    members, changes = set(statuses(segment)), ProfileChange.objects.count()
    # The same task redelivered after a crash: the same range, from the same cursor.
    again, _ = segment_evaluate_step(segment_id=segment.pk, cursor=cursor, chunks=1, chunk_size=2)
    assert first.realized == 2 and (again.realized, again.exited) == (0, 0)
    assert set(statuses(segment)) == members
    assert ProfileChange.objects.count() == changes  # no membership change captured twice


def test_a_segment_edited_between_steps_stops_the_evaluation() -> None:
    make_profiles(TIERS)
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    _, cursor = segment_evaluate_step(segment_id=segment.pk, chunks=1, chunk_size=2)
    Segment.objects.filter(pk=segment.pk).update(updated_at=timezone.now())

    stats, going_on = segment_evaluate_step(segment_id=segment.pk, cursor=cursor, chunks=1)
    assert going_on is None and not stats.completed
    segment.refresh_from_db()
    assert segment.evaluated_at is None


def test_the_task_queues_itself_with_its_cursor_until_done(monkeypatch: Any) -> None:
    pids = [r.profile_id for r in make_profiles(TIERS)]
    segment = segment_create(name="Gold", rule=GOLD, evaluate=False)
    monkeypatch.setattr(segment_services, "CHUNK", 2)
    monkeypatch.setattr(tasks, "RANGES_PER_TASK", 2)
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.segment_evaluate_task, "delay", lambda *args: queued.append(args))

    tasks.segment_evaluate_task(str(segment.pk))
    runs = 1
    while queued:
        segment_id, cursor = queued.pop(0)
        assert json.loads(json.dumps(cursor)) == cursor  # a plain JSON task argument
        assert EvaluationCursor.from_json(cursor).top == pids[-1]
        tasks.segment_evaluate_task(segment_id, cursor)
        runs += 1
    assert runs == 2  # 4 ranges of 2 profiles, 2 ranges per task
    assert statuses(segment) == {
        pid: "realized" for pid, t in zip(pids, TIERS, strict=True) if t == "gold"
    }
    segment.refresh_from_db()
    assert segment.evaluated_at is not None
