"""Fault injection at the one AWS seam (`tests.support.aws_calls` call hooks on
the product's botocore clients, through botocore's event system).

moto never throttles and never fails single records, so tests script the
faults here. A `FaultInjector` is a call hook: install it in-process with
`aws_calls.call_hook(injector)`, or in a worker process through the environment
(`worker_hook_env`, read by `tests/faults/worker_settings.py`). It sees every
PutRecords call before AWS does, can

* fail single entries of a call, as AWS does (`entry_faults`),
* fail whole calls from a script, one scripted outcome per call
  (`call_script`: an error code, `READ_TIMEOUT_DELIVERED` for a timeout after
  the records were written, `CONNECT_TIMEOUT`, or None to let the call through),
* throttle every call while a storm lasts (`storm(calls=n)`),

and it logs every entry it saw (`sends`) with the outcome, so a test counts
how often each record was sent and whether a success was ever resent.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import aws_calls

THROTTLED = "ProvisionedThroughputExceededException"
INTERNAL = "InternalFailure"
KMS_THROTTLED = "KMSThrottlingException"
READ_TIMEOUT_DELIVERED = "ReadTimeoutAfterDelivery"
CONNECT_TIMEOUT = "ConnectTimeout"
OK = "ok"

# entry_faults(record_id, attempt) -> an error code to fail this send with, or None.
EntryFaults = Callable[[str, int], str | None]


@dataclass(frozen=True)
class Send:
    """One entry of one PutRecords call, and what became of it."""

    call: int
    record_id: str
    partition_key: str
    # OK, a per-entry error code, or "call:<code>" when the whole call failed.
    outcome: str
    # True when the records reached the stream although the caller saw an error.
    delivered: bool


def record_id_of(data: bytes) -> str:
    """The `_id` every exported record carries (consumers deduplicate on it)."""
    return str(json.loads(data).get("_id", ""))


def every_nth_record_fails(
    *, every: int = 3, attempts: int = 2, codes: tuple[str, ...] = (THROTTLED, INTERNAL)
) -> EntryFaults:
    """Records whose id falls on every `every`-th bucket fail their first `attempts`
    sends, cycling through `codes` (so one call mixes both per-record errors)."""

    def decide(record_id: str, attempt: int) -> str | None:
        bucket = int(record_id[:8], 16) if record_id else 0
        if bucket % every == 0 and attempt <= attempts:
            return codes[(bucket // every + attempt) % len(codes)]
        return None

    return decide


@dataclass
class FaultInjector:
    """A scripted, thread-safe call hook for PutRecords (other calls pass through)."""

    entry_faults: EntryFaults | None = None
    call_script: list[str | None] = field(default_factory=list)
    storm_calls: int = 0
    # Set by a test to stall the N-th PutRecords call until released (or killed).
    hold_call: int = 0
    sends: list[Send] = field(default_factory=list)
    calls: int = 0
    failed_calls: Counter = field(default_factory=Counter)
    _attempts: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _held: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)

    def storm(self, *, calls: int) -> None:
        """Throttle the next `calls` PutRecords calls as a whole, then recover."""
        with self._lock:
            self.storm_calls = calls

    def __call__(
        self,
        service: str,
        operation: str,
        params: dict[str, Any],
        proceed: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        if operation != "PutRecords":
            return proceed()
        entries = [(record_id_of(r["Data"]), r["PartitionKey"]) for r in params["Records"]]
        with self._lock:
            self.calls += 1
            call = self.calls
            whole = self._whole_call_fault()
            attempts = []
            for record_id, _ in entries:
                self._attempts[record_id] += 1
                attempts.append(self._attempts[record_id])
        if call == self.hold_call:
            self._held.set()
            self._release.wait(timeout=600)
        if whole is not None:
            return self._fail_call(call, whole, entries, proceed)
        codes = [
            self.entry_faults(record_id, attempt) if self.entry_faults else None
            for (record_id, _), attempt in zip(entries, attempts, strict=True)
        ]
        response = _put_only_passing(params, codes, proceed)
        self._log(call, entries, [code or OK for code in codes], delivered=False)
        return response

    def _whole_call_fault(self) -> str | None:
        if self.storm_calls > 0:
            self.storm_calls -= 1
            return THROTTLED
        if self.call_script:
            return self.call_script.pop(0)
        return None

    def _fail_call(
        self,
        call: int,
        code: str,
        entries: list[tuple[str, str]],
        proceed: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        delivered = code == READ_TIMEOUT_DELIVERED
        if delivered:
            proceed()
        self.failed_calls[code] += 1
        self._log(call, entries, [f"call:{code}"] * len(entries), delivered=delivered)
        if code == READ_TIMEOUT_DELIVERED:
            raise aws_calls.read_timeout()
        if code == CONNECT_TIMEOUT:
            raise aws_calls.connect_timeout()
        raise aws_calls.client_error(code, f"{code} (injected)")

    def _log(
        self, call: int, entries: list[tuple[str, str]], outcomes: list[str], *, delivered: bool
    ) -> None:
        with self._lock:
            self.sends += [
                Send(call, record_id, key, outcome, delivered or outcome == OK)
                for (record_id, key), outcome in zip(entries, outcomes, strict=True)
            ]

    # -- what a test asserts on ------------------------------------------------

    def wait_until_held(self, *, seconds: float = 60) -> None:
        if not self._held.wait(timeout=seconds):
            raise AssertionError(f"PutRecords call {self.hold_call} never came")

    def release(self) -> None:
        self._release.set()

    def send_counts(self) -> Counter:
        """How many times each record id was sent (in any call)."""
        return Counter(send.record_id for send in self.sends)

    def resent_after_success(self) -> list[str]:
        """Record ids sent again after a send the caller was told succeeded."""
        succeeded: set[str] = set()
        resent: list[str] = []
        for send in sorted(self.sends, key=lambda s: s.call):
            if send.record_id in succeeded:
                resent.append(send.record_id)
            if send.outcome == OK:
                succeeded.add(send.record_id)
        return resent

    def failed_entries(self) -> list[Send]:
        """Entries that failed alone (inside a call that succeeded)."""
        return [s for s in self.sends if s.outcome != OK and not s.outcome.startswith("call:")]


def _put_only_passing(
    params: dict[str, Any], codes: list[str | None], proceed: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Write only the entries that do not fail, as AWS does, and answer for all of them.

    A failed entry never reaches the stream (that is what a per-record error
    means), so it is taken out of the real call and its error put back in place.
    """
    records = params["Records"]
    passing = [record for record, code in zip(records, codes, strict=True) if not code]
    results: list[dict[str, Any]] = []
    if passing:
        params["Records"] = passing
        try:
            results = list(proceed()["Records"])
        finally:
            params["Records"] = records
    answer: list[dict[str, Any]] = []
    for code in codes:
        if code:
            answer.append({"ErrorCode": code, "ErrorMessage": f"{code} (injected)"})
        else:
            answer.append(results.pop(0))
    failed = sum(1 for r in answer if "ErrorCode" in r)
    return {"FailedRecordCount": failed, "Records": answer}


# --------------------------------------------------------------------------
# In a Celery worker process
# --------------------------------------------------------------------------

WORKER_PLAN_ENV = "FAULT_PLAN"


def worker_hook_env(
    *, pause_after_calls: int = 0, marker: Path | None = None, delay_s: float = 0.0
) -> dict[str, str]:
    """Environment that installs `worker_hook` in a worker process.

    `delay_s`: every PutRecords call takes that much longer (a slow task).
    `pause_after_calls`: the calls after the first n are written to the stream,
    then the worker touches `marker` and stalls until it is killed (the batch
    is delivered but never recorded: the worst moment for a crash).
    """
    plan = {"pause_after_calls": pause_after_calls, "marker": str(marker or ""), "delay_s": delay_s}
    return {WORKER_PLAN_ENV: json.dumps(plan)}


def install_worker_hook_from_environment() -> None:
    """In a worker process started with `worker_hook_env`: install `worker_hook`."""
    if os.environ.get(WORKER_PLAN_ENV):
        aws_calls.set_call_hook(worker_hook)


_worker_calls = 0
_worker_lock = threading.Lock()


def worker_hook(
    service: str, operation: str, params: dict[str, Any], proceed: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The hook of a worker process started with `worker_hook_env`."""
    global _worker_calls
    if operation != "PutRecords":
        return proceed()
    plan = json.loads(os.environ.get(WORKER_PLAN_ENV, "{}"))
    with _worker_lock:
        _worker_calls += 1
        call = _worker_calls
    time.sleep(float(plan.get("delay_s") or 0))
    response = proceed()
    if plan.get("pause_after_calls") and call > int(plan["pause_after_calls"]):
        Path(plan["marker"]).write_text(str(os.getpid()))
        while True:  # the test SIGKILLs us here, mid-backfill
            time.sleep(1)
    return response
