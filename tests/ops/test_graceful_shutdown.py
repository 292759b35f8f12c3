"""SIGTERM to a real worker mid-backfill: it stops after the chunk in flight, releases
the run lock and queues the rest, and the next worker goes on from there at once."""

import signal
import subprocess
import time

import pytest

from activation.models import Backfill, BackfillStatus, Dataflow
from tests.conftest import wait_for
from tests.faults.conftest import STREAM
from tests.support.consumer import tally
from tests.support.faults import worker_hook_env

pytestmark = [pytest.mark.fault, pytest.mark.broker]

MEMBERS = 20_000
CHUNK = 500
# Far longer than the test may take: a next run that waited for the lease would fail it.
LEASE_S = "300"


def test_sigterm_hands_the_backfill_over_at_once_and_sends_nothing_twice(
    worker, world, local_kinesis
):
    world.bulk_members(MEMBERS)
    # Each PutRecords call (one chunk) takes 0.5 s: the whole backfill would take
    # about 20 s, as long as a run's budget, so only a stop between chunks ends it early.
    worker.start(extra_env={**worker_hook_env(delay_s=0.5), "EXPORT_LOCK_LEASE_S": LEASE_S})
    dataflow = world.dataflow(stream=STREAM)
    backfill = Backfill.objects.get(dataflow=dataflow)
    wait_for(lambda: Backfill.objects.get(pk=backfill.pk).processed >= 2 * CHUNK, seconds=120)

    worker.process.send_signal(signal.SIGTERM)  # the main process, as an orchestrator does
    sent = time.monotonic()
    try:
        worker.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker did not stop after its chunk")
    stopped_after = time.monotonic() - sent
    worker.process = None

    stopped = Backfill.objects.get(pk=backfill.pk)
    assert stopped.status == BackfillStatus.RUNNING and stopped.processed < MEMBERS, (
        f"the run went on after SIGTERM ({stopped.processed} sent, {stopped_after:.1f} s)"
    )
    assert stopped.processed % CHUNK == 0
    assert tally(local_kinesis.read_stream(STREAM)).entries == stopped.processed, (
        "every chunk that reached the stream was recorded"
    )
    lock = Dataflow.objects.filter(pk=dataflow.pk).values("lock_token", "locked_until").get()
    assert lock == {"lock_token": "", "locked_until": None}, "the run lock was released"

    # No beat tick: the stopped run queued its own continuation.
    worker.start(extra_env={"EXPORT_LOCK_LEASE_S": LEASE_S})
    wait_for(
        lambda: Backfill.objects.get(pk=backfill.pk).status == BackfillStatus.DONE, seconds=120
    )
    seen = tally(local_kinesis.read_stream(STREAM))
    assert (seen.entries, len(seen.keys)) == (MEMBERS, MEMBERS), "each member sent exactly once"
    assert "Warm shutdown" in worker.logs() or "warm shutdown" in worker.logs().lower()
