"""End-to-end fixtures: a local Kinesis endpoint (moto server on a free port) that
a real Celery worker process exports to."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from destinations.kinesis import aws
from tests.support.local_kinesis import LocalKinesis

STREAM = "e2e-stream"


@pytest.fixture(scope="session")
def e2e_kinesis_server() -> Iterator[LocalKinesis]:
    server = LocalKinesis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def kinesis(
    e2e_kinesis_server: LocalKinesis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalKinesis]:
    """The endpoint, emptied but for STREAM (2 shards), for this process and workers."""
    e2e_kinesis_server.reset()
    e2e_kinesis_server.create_stream(STREAM, shards=2)
    for name in ("KINESIS_ENDPOINT_URL", "STS_ENDPOINT_URL", "IAM_ENDPOINT_URL"):
        setattr(settings, name, e2e_kinesis_server.url)
        # A worker started after this (celery_worker_process) inherits os.environ.
        monkeypatch.setenv(name, e2e_kinesis_server.url)
    monkeypatch.delenv("EXPORT_SINK", raising=False)
    aws.clear_client_cache()
    yield e2e_kinesis_server
    aws.clear_client_cache()


@pytest.fixture
def celery_worker_process(
    kinesis: LocalKinesis, celery_worker_process: subprocess.Popen
) -> Iterator[subprocess.Popen]:
    """The shared worker fixture, started with the local endpoint in its environment
    (`kinesis` is set up first, so the worker inherits it)."""
    yield celery_worker_process
