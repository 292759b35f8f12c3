"""Retries: failed entries resent alone, retryable calls resent whole, permanent errors stop."""

import random

import pytest

from activation.export.delivery import DeliveryStopped, Outgoing, RetryPolicy, Stats, deliver
from activation.export.records import BuiltRecord
from destinations.kinesis.aws import (
    AccessDenied,
    EntryResult,
    KmsError,
    StreamNotFound,
    Throttled,
    TransientError,
)

THROTTLED = "ProvisionedThroughputExceededException"


class ScriptedSink:
    """Per call: an exception to raise, or {index: error code} entries to fail."""

    def __init__(self, script):
        self.script = list(script)
        self.calls: list[list[str]] = []
        self.accepted: list[str] = []

    def put_records(self, entries):
        keys = [key for _, key in entries]
        self.calls.append(keys)
        step = self.script.pop(0) if self.script else {}
        if isinstance(step, Exception):
            raise step
        results = []
        for index, key in enumerate(keys):
            if index in step:
                results.append(EntryResult(None, None, step[index], f"{step[index]} (test)"))
            else:
                self.accepted.append(key)
                results.append(
                    EntryResult("shardId-000000000000", str(len(self.accepted)), None, None)
                )
        return results


def items(count: int) -> list[Outgoing]:
    return [
        Outgoing(
            BuiltRecord(
                profile_id=n, record_id=f"r{n}", data=b"{}", partition_key=f"p{n}", size_bytes=4
            ),
            "attribute",
        )
        for n in range(count)
    ]


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock: FakeClock, **kwargs) -> RetryPolicy:
    kwargs.setdefault("stuck_after_s", 30)
    return RetryPolicy(
        base_s=0.1,
        cap_s=2.0,
        sleep=clock.sleep,
        clock=lambda: clock.now,
        rng=random.Random(7),
        **kwargs,
    )


def test_failed_entries_are_resent_alone_and_successes_never_again():
    clock = FakeClock()
    sink = ScriptedSink([{1: THROTTLED, 3: "InternalFailure"}, {0: THROTTLED}, {}])

    delivered = deliver(sink, items(5), policy=policy(clock))

    assert sink.calls == [["p0", "p1", "p2", "p3", "p4"], ["p1", "p3"], ["p1"]]
    assert sorted(sink.accepted) == ["p0", "p1", "p2", "p3", "p4"]
    assert len(sink.accepted) == 5
    assert sorted(d.profile_id for d in delivered) == [0, 1, 2, 3, 4]
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "error",
    [
        Throttled("throttled", code=THROTTLED),
        Throttled("kms throttled", code="KMSThrottlingException"),
        TransientError("internal", code="InternalFailure"),
        TransientError("read timeout", code="ReadTimeout", may_have_succeeded=True),
    ],
)
def test_retryable_whole_call_errors_resend_the_whole_call(error):
    clock = FakeClock()
    sink = ScriptedSink([error, error, {}])

    delivered = deliver(sink, items(3), policy=policy(clock))

    assert sink.calls == [["p0", "p1", "p2"]] * 3
    assert len(delivered) == 3


def test_backoff_grows_exponentially_capped_with_jitter():
    clock = FakeClock()
    sink = ScriptedSink([Throttled("t", code=THROTTLED)] * 8 + [{}])

    deliver(sink, items(1), policy=policy(clock))

    steps = [min(2.0, 0.1 * 2**n) for n in range(8)]
    assert all(step / 2 <= wait <= step for wait, step in zip(clock.sleeps, steps, strict=True))
    assert clock.sleeps[-1] >= 1.0  # reached the cap: no hot loop
    assert len(set(clock.sleeps)) == len(clock.sleeps)  # jittered


@pytest.mark.parametrize(
    "error",
    [
        AccessDenied("denied", action="kinesis:PutRecords"),
        StreamNotFound("no stream"),
        KmsError("kms key disabled", code="KMSDisabledException"),
    ],
)
def test_permanent_errors_stop_at_once_with_everything_pending(error):
    clock = FakeClock()
    sink = ScriptedSink([{}, error])
    records = items(600)

    with pytest.raises(DeliveryStopped) as stopped:
        deliver(sink, records, policy=policy(clock))

    assert stopped.value.permanent
    assert stopped.value.code == error.code
    assert len(stopped.value.delivered) == 500
    assert [f.profile_id for f in stopped.value.failed] == list(range(500, 600))
    assert clock.sleeps == []


def test_it_stops_when_nothing_gets_through_for_too_long():
    clock = FakeClock()
    sink = ScriptedSink([{0: THROTTLED}] * 1000)

    with pytest.raises(DeliveryStopped) as stopped:
        deliver(sink, items(2), policy=policy(clock, stuck_after_s=10))

    assert not stopped.value.permanent
    assert stopped.value.code == THROTTLED
    assert [d.profile_id for d in stopped.value.delivered] == [1]
    assert [(f.profile_id, f.error_code) for f in stopped.value.failed] == [(0, THROTTLED)]
    assert 10 <= clock.now < 13


def test_slow_progress_is_not_a_stop():
    clock = FakeClock()
    # Every call lets exactly one of the remaining records through.
    sink = ScriptedSink([{i: THROTTLED for i in range(1, 40 - n)} for n in range(40)])
    stats = Stats()

    delivered = deliver(sink, items(40), policy=policy(clock, stuck_after_s=3), stats=stats)

    assert len(delivered) == 40
    assert stats.calls == 40


def test_before_call_runs_before_every_attempt():
    clock = FakeClock()
    sink = ScriptedSink([{0: THROTTLED}, {}])
    seen = []

    deliver(sink, items(1), policy=policy(clock), before_call=lambda: seen.append(len(sink.calls)))

    assert seen == [0, 1]


@pytest.mark.parametrize("code", ["InvalidArgumentException", "SomeCodeNobodyKnows"])
def test_a_record_refused_for_good_is_given_up_after_bounded_attempts(code):
    clock = FakeClock()
    # Record 1 is refused at every send; record 3 is throttled twice on the way.
    sink = ScriptedSink([{1: code, 3: THROTTLED}, {0: code, 1: THROTTLED}, {0: code}])
    refused = []

    delivered = deliver(sink, items(5), policy=policy(clock), refused=refused)

    assert sink.calls == [["p0", "p1", "p2", "p3", "p4"], ["p1", "p3"], ["p1", "p3"]]
    assert sorted(d.profile_id for d in delivered) == [0, 2, 3, 4]
    [failure] = refused
    assert (failure.profile_id, failure.partition_key, failure.error_code) == (1, "p1", code)
    assert failure.message == f"The stream refused this record 3 times ({code}): {code} (test)"


def test_the_bound_on_refusals_is_a_setting(settings):
    settings.EXPORT_RECORD_REFUSAL_ATTEMPTS = 1
    clock = FakeClock()
    sink = ScriptedSink([{0: "InvalidArgumentException"}])
    refused = []
    configured = RetryPolicy.from_settings()
    configured.sleep, configured.clock = clock.sleep, lambda: clock.now

    delivered = deliver(sink, items(2), policy=configured, refused=refused)

    assert [d.profile_id for d in delivered] == [1]
    assert [f.profile_id for f in refused] == [0]
    assert len(sink.calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    "code", [THROTTLED, "InternalFailure", "KMSThrottlingException", "ServiceUnavailable"]
)
def test_retryable_per_record_codes_are_retried_without_a_bound(code):
    clock = FakeClock()
    sink = ScriptedSink([{0: code}] * 10 + [{}])
    refused = []

    delivered = deliver(sink, items(1), policy=policy(clock), refused=refused)

    assert [d.profile_id for d in delivered] == [0] and refused == []
    assert len(sink.calls) == 11
