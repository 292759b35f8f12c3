"""Fault-test fixtures: a local Kinesis that can go down, the fault injector
at the AWS seam, and real Celery workers that can be SIGKILLed and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from destinations.kinesis import aws
from tests.conftest import ROOT, database_url_of_current_test_db, wait_for
from tests.support import aws_calls
from tests.support.faults import WORKER_PLAN_ENV, FaultInjector
from tests.support.local_kinesis import LocalKinesis
from tests.support.world import ExportWorld

STREAM = "fault-stream"

# Short waits so a fault test exercises the real retry path (backoff, stuck
# detection, failed-run retry) in seconds rather than minutes.
FAST_RETRIES = {
    "EXPORT_RETRY_BASE_S": 0.01,
    "EXPORT_RETRY_CAP_S": 0.2,
    "EXPORT_STUCK_AFTER_S": 1.0,
    "EXPORT_FAILED_RUN_RETRY_CAP_S": 0.5,
    "KINESIS_MAX_ATTEMPTS": 1,
    "KINESIS_CONNECT_TIMEOUT": 1,
    "KINESIS_READ_TIMEOUT": 5,
}


@pytest.fixture(scope="session")
def kinesis_server() -> Iterator[LocalKinesis]:
    server = LocalKinesis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def local_kinesis(kinesis_server: LocalKinesis, settings: Any) -> Iterator[LocalKinesis]:
    """The moto server, empty but for the stream STREAM (2 shards), as the app's endpoint."""
    kinesis_server.start()
    kinesis_server.reset()
    kinesis_server.create_stream(STREAM, shards=2)
    settings.KINESIS_ENDPOINT_URL = kinesis_server.url
    settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = kinesis_server.url
    for name, value in FAST_RETRIES.items():
        setattr(settings, name, value)
    aws.clear_client_cache()
    yield kinesis_server
    kinesis_server.start()  # a test that took it down leaves it up for the next
    kinesis_server.set_iam_auth(enabled=False)
    aws.clear_client_cache()


@pytest.fixture
def injector() -> Iterator[FaultInjector]:
    """A fault injector installed at the AWS seam for this test (nothing scripted yet)."""
    hook = FaultInjector()
    with aws_calls.call_hook(hook):
        yield hook


@pytest.fixture
def queued_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """In-process tests run the engine themselves: runs the engine would queue on
    the broker are collected here instead (dataflow id, countdown)."""
    from activation.export import services

    queued: list[tuple[int, float]] = []
    monkeypatch.setattr(services, "_enqueue_run", lambda *args: queued.append(args))
    return queued


@pytest.fixture
def world(transactional_db: Any) -> ExportWorld:
    # Committed transactions (not the test's wrapping one): change capture only
    # reads changes whose transactions have finished.
    return ExportWorld.create()


def drain(
    dataflow_id: int,
    *,
    until: Callable[[], bool] = lambda: True,
    seconds: float = 60,
    **options: Any,
) -> list[Any]:
    """Run the dataflow (as its queued tasks would) until caught up and `until()` holds.

    Waits out a failed run's retry_at like the scheduler does. Returns every run's report.
    """
    from activation.export.services import dataflow_run

    reports = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        report = dataflow_run(dataflow_id=dataflow_id, **options)
        reports.append(report)
        if report.state == "caught_up" and until():
            return reports
        if report.state in ("waiting_retry", "caught_up", "locked"):
            time.sleep(0.05)
    states = [r.state for r in reports[-5:]]
    raise AssertionError(f"dataflow {dataflow_id} not drained in {seconds} s; last runs {states}")


class Worker:
    """A real `celery worker` process (own session) that a test can SIGKILL and restart."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.log_dir / f"worker-{self.starts}.log"

    def start(self, *, extra_env: dict[str, str] | None = None, concurrency: int = 1) -> None:
        assert self.process is None, "worker already running"
        self.starts += 1
        log = self.log.open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker"),
                *("-c", str(concurrency), "-l", "INFO", "-n", f"fault{self.starts}@%h"),
            ],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(lambda: "ready" in self.log.read_text(), seconds=60)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a machine crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def logs(self) -> str:
        return "\n".join(
            (self.log_dir / f"worker-{n}.log").read_text() for n in range(1, self.starts + 1)
        )


@pytest.fixture
def worker(transactional_db: Any, local_kinesis: LocalKinesis, tmp_path: Path) -> Iterator[Worker]:
    """A stopped worker on the test database, the broker and the local Kinesis; start() it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "DATABASE_URL": database_url_of_current_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VAR_DIR": str(settings.VAR_DIR),
        "KINESIS_ENDPOINT_URL": local_kinesis.url,
        "STS_ENDPOINT_URL": local_kinesis.url,
        "IAM_ENDPOINT_URL": local_kinesis.url,
        **{name: str(value) for name, value in FAST_RETRIES.items()},
    }
    env.pop(WORKER_PLAN_ENV, None)  # a test adds its fault plan with worker.start(extra_env=...)
    _purge_broker()
    process = Worker(tmp_path, env)
    try:
        yield process
    finally:
        if process.process is not None:
            os.killpg(process.process.pid, signal.SIGKILL)
            process.process.wait()
        # Shown by pytest only when the test failed.
        print("\n".join(process.logs().splitlines()[-80:]))


def _purge_broker() -> None:
    """Drop tasks an earlier test's killed worker left queued (this broker only)."""
    from config.celery import app

    app.control.purge()


def run_figures(dataflow: Any) -> tuple[int, int, int, int, int]:
    """(received, activated, excluded, failed, delivered after retries) of the dataflow's
    runs: distinct profiles per window, each in its final outcome (a fault test runs
    within one window; should it straddle an hour, the two windows' figures add up)."""
    from django.db.models import Sum

    from activation.models import ExportRun

    sums = ExportRun.objects.filter(dataflow=dataflow).aggregate(
        *(
            Sum(name)
            for name in (
                "profiles_received",
                "identities_activated",
                "identities_excluded",
                "identities_failed",
                "delivered_after_retries",
            )
        )
    )
    return tuple(value or 0 for value in sums.values())  # type: ignore[return-value]


def issue_attempts(dataflow: Any) -> dict[tuple[str, int], int]:
    """How many profiles have each (outcome, attempts) in the run details."""
    from collections import Counter

    from activation.models import RunIssue

    return dict(
        Counter(RunIssue.objects.filter(run__dataflow=dataflow).values_list("kind", "attempts"))
    )
