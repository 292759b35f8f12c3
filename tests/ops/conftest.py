"""Fixtures of the operations tests: metric figures read the way Prometheus reads them."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.conftest import (  # noqa: F401 - shared: a local Kinesis, real workers, a world
    kinesis_server,
    local_kinesis,
    queued_runs,
    worker,
    world,
)


class Scrape:
    """One scrape of /metrics, parsed; `value(name, **labels)` sums matching samples."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name
            and all(sample.labels.get(key) == value for key, value in labels.items())
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            sample.name == name
            and all(sample.labels.get(key) == value for key, value in labels.items())
            for sample in self.samples
        )


@pytest.fixture
def scrape(client: Any) -> Any:
    def read(**headers: str) -> Scrape:
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        return Scrape(response.content.decode())

    return read
