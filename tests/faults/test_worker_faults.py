"""Faults around the workers and the broker: a real Celery worker process on the
configured broker (Redis in CI), the test database and the local Kinesis.

Beat is played by the test: it sends `dataflows_tick_task` the way the beat
schedule does, at the moments that matter.
"""

from collections import Counter

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activation.models import Backfill, BackfillStatus, Dataflow, DeliveryLog
from activation.tasks import dataflows_tick_task
from profiles.models import ProfileChange
from tests.conftest import wait_for
from tests.faults.conftest import STREAM
from tests.support.consumer import mismatches, tally
from tests.support.faults import worker_hook_env

pytestmark = [pytest.mark.fault, pytest.mark.broker]

BACKFILL = 20_000
BATCH = 500


def all_profile_ids():
    from profiles.models import Profile

    return list(Profile.objects.values_list("id", flat=True))


def recorded_before(sent: int) -> int:
    """Members a backfill has recorded when its first `sent` records reached the stream
    and the chunk holding the last of them is not recorded yet: chunks of
    BACKFILL_CHUNK members, doubling up to BACKFILL_MAX_CHUNK (records this small)."""
    from activation.export import runner

    size, end = runner.BACKFILL_CHUNK, 0
    while end + size < sent:
        end += size
        size = min(2 * size, runner.BACKFILL_MAX_CHUNK)
    return end


def test_a_worker_killed_mid_backfill_loses_nothing_after_restart(
    worker, world, local_kinesis, tmp_path
):
    world.bulk_members(BACKFILL)
    marker = tmp_path / "stalled"
    # Ten batches go through; the eleventh reaches the stream, then the worker stalls.
    worker.start(
        extra_env={
            **worker_hook_env(pause_after_calls=10, marker=marker),
            "EXPORT_LOCK_LEASE_S": "3",
        }
    )
    dataflow = world.dataflow(stream=STREAM)
    wait_for(marker.exists, seconds=120)

    worker.kill()

    backfill = Backfill.objects.get(dataflow=dataflow)
    # Every chunk before the one in flight is recorded (3,500 members: 500, 1,000, 2,000).
    recorded = recorded_before(11 * BATCH)
    in_flight = 11 * BATCH - recorded
    assert (backfill.status, backfill.processed) == (BackfillStatus.RUNNING, recorded)
    assert tally(local_kinesis.read_stream(STREAM)).entries == 11 * BATCH
    # The killed run's lease runs out; the restarted worker takes the next tick.
    wait_for(lambda: Dataflow.objects.get(pk=dataflow.pk).locked_until < timezone.now())
    worker.start(extra_env={"EXPORT_LOCK_LEASE_S": "3"})
    dataflows_tick_task.delay()
    wait_for(
        lambda: Backfill.objects.get(pk=backfill.pk).status == BackfillStatus.DONE, seconds=180
    )

    entries = local_kinesis.read_stream(STREAM)
    seen = tally(entries)
    assert len(seen.keys) == BACKFILL
    # Only the chunk in flight when the worker died was sent again, and every copy
    # carries the `_id` of its first send: deduplicated on `_id`, one record a profile.
    copies = Counter(entry.partition_key for entry in entries)
    assert sorted(Counter(copies.values()).items()) == [
        (1, BACKFILL - in_flight),
        (2, in_flight),
    ]
    assert seen.duplicate_copies == in_flight and seen.unique_records == BACKFILL
    assert set(seen.records_per_key.values()) == {1}
    assert mismatches(dataflow=dataflow, profile_ids=all_profile_ids(), entries=entries) == []
    assert Backfill.objects.get(pk=backfill.pk).processed == BACKFILL


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"), reason="redelivery is Redis's"
)
def test_a_redelivered_slow_run_and_overlapping_ticks_export_each_change_once(
    worker, world, local_kinesis
):
    dataflow = world.dataflow(stream=STREAM)
    worker.start(
        concurrency=2,
        extra_env={
            **worker_hook_env(delay_s=1.5),
            # The broker hands the running task to the second process after 2 s.
            "CELERY_VISIBILITY_TIMEOUT": "2",
            "FAULT_RESTORE_EVERY_S": "1",
        },
    )
    wait_for(lambda: Backfill.objects.filter(dataflow=dataflow, status="done").exists(), seconds=90)

    ids = world.ingest(range(1500))
    for _ in range(5):
        dataflows_tick_task.delay()
    wait_for(lambda: DeliveryLog.objects.count() >= 1500, seconds=120)
    # Let any redelivered copy and every tick finish, then look again.
    wait_for(lambda: redeliveries(worker) >= 1, seconds=60)
    wait_for(lambda: worker.logs().count("dataflows_tick_task") >= 10, seconds=30)

    assert DeliveryLog.objects.count() == 1500
    entries = local_kinesis.read_stream(STREAM)
    seen = tally(entries)
    assert (seen.entries, len(seen.keys)) == (1500, 1500), "every change exported once"
    assert mismatches(dataflow=dataflow, profile_ids=ids, entries=entries) == []
    assert "'locked'" in worker.logs(), "the redelivered run found the lock taken"


def redeliveries(worker):
    """How many run tasks the worker received more than once (same task id)."""
    import re
    from collections import Counter

    received = re.findall(
        r"Task activation\.tasks\.dataflow_run_task\[([^\]]+)\] received", worker.logs()
    )
    return sum(1 for count in Counter(received).values() if count > 1)


def test_a_rollback_exports_nothing_and_a_lost_enqueue_is_caught_by_the_tick(
    worker, world, local_kinesis
):
    dataflow = world.dataflow(stream=STREAM)
    worker.start()
    wait_for(lambda: Backfill.objects.filter(dataflow=dataflow, status="done").exists(), seconds=90)

    with pytest.raises(RuntimeError), transaction.atomic():
        world.ingest(range(100))
        raise RuntimeError("the request failed after writing")
    with pytest.raises(SystemExit), transaction.atomic():
        # The process dies right after COMMIT, before the write's on-commit enqueue.
        transaction.on_commit(crash)
        ids = world.ingest(range(100, 150))

    assert ProfileChange.objects.count() == 50, "only the committed write was captured"
    assert Dataflow.objects.get(pk=dataflow.pk).run_scheduled_for is None, "nothing was queued"
    dataflows_tick_task.delay()  # what beat sends every few seconds
    wait_for(lambda: DeliveryLog.objects.count() >= 50, seconds=60)

    entries = local_kinesis.read_stream(STREAM)
    assert tally(entries).entries == 50
    assert mismatches(dataflow=dataflow, profile_ids=ids, entries=entries) == []
    assert set(DeliveryLog.objects.values_list("profile_id", flat=True)) == set(ids)


def crash():
    raise SystemExit("killed between commit and enqueue")
