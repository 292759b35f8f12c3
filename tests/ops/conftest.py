"""Fixtures of the operations tests: metric figures read the way Prometheus reads them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.conftest import (  # noqa: F401 - shared: a local Kinesis, real workers, a world
    kinesis_server,
    local_kinesis,
    queued_runs,
    worker,
    world,
)
from tests.support.metrics import Scrape


@pytest.fixture
def scrape(client: Any) -> Any:
    def read(**headers: str) -> Scrape:
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        return Scrape(response.content.decode())

    return read
