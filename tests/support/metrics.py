"""A Prometheus scrape read the way Prometheus reads it (tests and `make prod-smoke`)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape's samples; `value(name, **labels)` sums the samples whose labels match."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def matching(self, name: str, **labels: str) -> list:
        return [
            sample
            for sample in self.samples
            if sample.name == name
            and all(sample.labels.get(key) == value for key, value in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        return sum(sample.value for sample in self.matching(name, **labels))

    def has(self, name: str, **labels: str) -> bool:
        return bool(self.matching(name, **labels))
