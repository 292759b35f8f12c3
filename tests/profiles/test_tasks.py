import pytest
from django_celery_beat.models import PeriodicTask

from profiles.models import SegmentMembership
from profiles.segments import segment_create, segment_update
from profiles.services import profiles_upsert
from tests.conftest import wait_for

GOLD = {"path": "loyalty.tier", "op": "equals", "value": "gold"}


@pytest.mark.django_db
def test_the_hourly_evaluation_is_scheduled_for_admins_to_edit():
    task = PeriodicTask.objects.get(name="Evaluate active segments (hourly)")
    assert task.task == "profiles.tasks.segments_evaluate_all_task"
    assert task.enabled and task.interval.every == 3600


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_rule_edit_is_evaluated_by_a_real_worker(celery_worker_process):
    profiles_upsert(
        records=[
            {"identityMap": {"crmid": [{"id": f"C{i}"}]}, "attributes": {"loyalty": {"tier": t}}}
            for i, t in enumerate(["gold", "silver", "gold", "bronze"])
        ],
        source="import",
    )
    segment = segment_create(name="Gold", rule=GOLD)  # queued on commit
    wait_for(lambda: segment.memberships.filter(status="realized").count() == 2, seconds=60)

    segment.refresh_from_db()
    segment_update(
        segment=segment,
        name="Not gold",
        description="",
        rule={"not": GOLD},
        active=True,
    )

    def settled() -> bool:
        statuses = list(
            SegmentMembership.objects.filter(segment=segment).values_list("status", flat=True)
        )
        return sorted(statuses) == ["exited", "exited", "realized", "realized"]

    wait_for(settled, seconds=60)
    segment.refresh_from_db()
    assert segment.evaluated_at is not None
