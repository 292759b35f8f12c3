"""Sending records through a sink with retries, never losing one.

Records go out in PutRecords-sized batches, one batch at a time. Entries that
fail inside a successful call with a code that means "later"
(`ProvisionedThroughputExceededException`, `InternalFailure`,
`KMSThrottlingException`, ...) are resent alone, without limit. An entry
refused with any other code (`InvalidArgumentException`, or a code we do not
know) is about that record: after `refusal_attempts` refusals it is given up
(`refused`, excluded by the caller with the code) and the others go on. A
whole call that fails with a retryable error (throttling, KMS throttling,
internal error, timeout, unreachable endpoint) is resent whole (a timed-out
call may have succeeded: the resend is a duplicate with the same `_id`). Waits grow exponentially,
capped, with jitter. Because a batch is finished before the next starts and
a profile appears once per batch, a retried earlier state of a profile can
never land after a later one.

Delivery stops with `DeliveryStopped` on a permanent error, or when no
record got through for `stuck_after_s` (the run then ends and is retried
later from the same position: nothing is dropped).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings

from activation.export.batching import batches
from activation.export.records import BuiltRecord
from activation.export.sinks import Sink
from destinations.kinesis.aws import KinesisError, entry_error_retryable


# Outgoing and Delivered are made once per record: plain slots classes (a frozen
# dataclass's __init__ costs about twice as much).
@dataclass(slots=True)
class Outgoing:
    record: BuiltRecord
    reason: str
    # Times the stream refused this record with a code that is not worth retrying.
    refusals: int = 0


@dataclass(slots=True)
class Delivered:
    """Where one record landed (what the delivery log keeps; not the data)."""

    profile_id: int
    record_id: str
    reason: str
    shard_id: str
    sequence_number: str
    # Sends it took (more than 1: delivered after retries, the last error says why).
    attempts: int = 1
    last_error_code: str = ""
    last_error: str = ""
    partition_key: str = ""  # only kept for a record delivered after retries


@dataclass(frozen=True, slots=True)
class Failure:
    profile_id: int
    partition_key: str
    error_code: str
    message: str
    attempts: int = 1


# Told when an attempt got nothing through and delivery waits to retry: (the error,
# its code and message, how many records of the batch are waiting). The run shows
# the delay at once.
OnWait = Callable[[KinesisError | None, str, str, int], None]


@dataclass
class RetryPolicy:
    """Capped exponential backoff with jitter; sleep and clock are injectable."""

    base_s: float = 0.1
    cap_s: float = 5.0
    stuck_after_s: float = 30.0
    # Sends of a record refused with a non-retryable per-record code before giving up.
    refusal_attempts: int = 3
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            base_s=settings.EXPORT_RETRY_BASE_S,
            cap_s=settings.EXPORT_RETRY_CAP_S,
            stuck_after_s=settings.EXPORT_STUCK_AFTER_S,
            refusal_attempts=settings.EXPORT_RECORD_REFUSAL_ATTEMPTS,
        )

    def delay(self, attempt: int) -> float:
        """Half the capped exponential step, plus up to as much again at random."""
        step = min(self.cap_s, self.base_s * (2**attempt))
        return step / 2 + self.rng.uniform(0, step / 2)


class DeliveryStopped(Exception):  # noqa: N818 - a stop, not a bug
    """Sending stopped: the records in `failed` (and any after them) were not sent."""

    def __init__(
        self,
        *,
        code: str,
        message: str,
        permanent: bool,
        delivered: list[Delivered],
        failed: list[Failure],
        error: Exception | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.permanent = permanent
        self.delivered = delivered
        self.failed = failed
        # What stopped it (a KinesisError, or None for per-record failures).
        self.error = error


@dataclass
class Stats:
    """Counters of one delivery, for benchmarks and fault tests."""

    calls: int = 0
    retried_entries: int = 0
    whole_call_retries: int = 0
    waited_s: float = 0.0


def deliver(
    sink: Sink,
    items: Iterable[Outgoing],
    *,
    policy: RetryPolicy,
    before_call: Callable[[], None] = lambda: None,
    stats: Stats | None = None,
    refused: list[Failure] | None = None,
    on_wait: OnWait | None = None,
) -> list[Delivered]:
    """Send every item; return where each landed, in order of success.

    Records the stream refused for good are appended to `refused` (code and
    message of the last refusal); they are neither delivered nor retried.
    """
    stats = stats or Stats()
    delivered: list[Delivered] = []
    refused = [] if refused is None else refused
    for batch in batches(items, lambda item: item.record.size_bytes):
        _send_batch(
            sink,
            batch,
            delivered,
            refused,
            policy=policy,
            before_call=before_call,
            stats=stats,
            on_wait=on_wait,
        )
    return delivered


def _send_batch(
    sink: Sink,
    batch: list[Outgoing],
    delivered: list[Delivered],
    refused: list[Failure],
    *,
    policy: RetryPolicy,
    before_call: Callable[[], None],
    stats: Stats,
    on_wait: OnWait | None = None,
) -> None:
    pending = batch
    attempt = 0
    last_progress = policy.clock()
    # Each profile's last error, once an attempt failed (retries are the rare path).
    errors: dict[int, tuple[str, str]] = {}
    while pending:
        before_call()
        stats.calls += 1
        error: KinesisError | None = None
        try:
            results = sink.put_records([(i.record.data, i.record.partition_key) for i in pending])
        except KinesisError as exc:
            code, message, error = exc.code, exc.message, exc
            errors.update(dict.fromkeys((i.record.profile_id for i in pending), (code, message)))
            if exc.permanent:
                stop = _stopped(code, message, True, delivered, pending, errors, attempt, exc)
                raise stop from exc
            stats.whole_call_retries += 1
            failed = pending
        else:
            failed = []
            for item, result in zip(pending, results, strict=True):
                if result.error_code:
                    error = (result.error_code, result.error_message or result.error_code)
                    if not entry_error_retryable(result.error_code):
                        item.refusals += 1
                        if item.refusals >= policy.refusal_attempts:
                            refused.append(_refusal(item, error, item.refusals))
                            continue
                    failed.append(item)
                    errors[item.record.profile_id] = error
                else:
                    record = item.record
                    delivered.append(  # positional: once per delivered record
                        Delivered(
                            record.profile_id,
                            record.record_id,
                            item.reason,
                            result.shard_id or "",
                            result.sequence_number or "",
                        )
                    )
                    if attempt:  # delivered after retries: say how many and why
                        last = errors.get(record.profile_id, ("", ""))
                        delivered[-1].attempts = attempt + 1
                        delivered[-1].last_error_code, delivered[-1].last_error = last
                        delivered[-1].partition_key = record.partition_key
            if len(failed) < len(pending):
                last_progress = policy.clock()
            stats.retried_entries += len(failed)
            if failed:
                code, message = errors[failed[0].record.profile_id]
        if not failed:
            return
        if policy.clock() - last_progress >= policy.stuck_after_s:
            raise _stopped(code, message, False, delivered, failed, errors, attempt, error)
        if on_wait is not None and len(failed) == len(pending):
            on_wait(error, code, message, len(failed))
        wait = policy.delay(attempt)
        stats.waited_s += wait
        policy.sleep(wait)
        attempt += 1
        pending = failed


def _refusal(item: Outgoing, error: tuple[str, str], attempts: int) -> Failure:
    code, message = error
    return Failure(
        profile_id=item.record.profile_id,
        partition_key=item.record.partition_key,
        error_code=code,
        message=f"The stream refused this record {attempts} times ({code}): {message}",
        attempts=attempts,
    )


def _stopped(
    code: str,
    message: str,
    permanent: bool,
    delivered: list[Delivered],
    pending: list[Outgoing],
    errors: dict[int, tuple[str, str]],
    attempt: int,
    error: KinesisError | None,
) -> DeliveryStopped:
    failures = [
        Failure(
            profile_id=item.record.profile_id,
            partition_key=item.record.partition_key,
            error_code=errors.get(item.record.profile_id, (code, message))[0],
            message=errors.get(item.record.profile_id, (code, message))[1],
            attempts=attempt + 1,
        )
        for item in pending
    ]
    return DeliveryStopped(
        code=code,
        message=message,
        permanent=permanent,
        delivered=delivered,
        failed=failures,
        error=error,
    )
