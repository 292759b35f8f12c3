"""Export-engine fixtures: profiles written through the real write service, dataflows
mapped like the wizard maps them, runs against an in-process sink.

Tests that read captured changes use the transactional database: on PostgreSQL
the change log only returns changes of finished transactions (see
profiles/changes.py), which a test wrapped in one transaction never has.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Max

from activation.export import services
from activation.export.delivery import RetryPolicy
from activation.export.runner import RunReport
from activation.export.sinks import MemorySink
from activation.models import AttributeMapping, Dataflow, DataflowSegment, IdentitySelection
from profiles.changes import head_cursor
from profiles.models import IdentityNamespace, ProfileChange, Segment
from profiles.segments import segment_create
from profiles.services import profiles_upsert
from tests.conftest import wait_for
from tests.factories import DataflowFactory

BUILTIN_NAMESPACES = ("ecid", "email", "phone", "crmid")
DEFAULT_ATTRIBUTES = ("person.name.firstName", "person.name.lastName", "personalEmail.address")


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, float]]]:
    """Runs the engine queued (dataflow id, countdown), instead of sending them to a broker."""
    import alerts.services

    queued: list[tuple[int, float]] = []
    # Alert emails are the alerts app's business (and would go to the broker).
    monkeypatch.setattr(alerts.services, "_enqueue_email", lambda alert_id: None)
    monkeypatch.setattr(
        services,
        "_enqueue_run",
        lambda dataflow_id, countdown: queued.append((dataflow_id, countdown)),
    )
    yield queued


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


def no_wait_policy() -> RetryPolicy:
    return RetryPolicy(base_s=0.001, cap_s=0.01, stuck_after_s=60, sleep=lambda seconds: None)


def settle_changes(seconds: float = 60) -> None:
    """Wait until every change written so far is readable by the change log.

    On PostgreSQL a change is read once no older transaction is running anywhere
    on the server (profiles/changes.py); other test runs sharing the server can
    hold that back for a moment.
    """
    if connection.vendor != "postgresql":
        return
    newest = ProfileChange.objects.aggregate(Max("txid"))["txid__max"] or 0
    wait_for(lambda: head_cursor().txid > newest, seconds=seconds, every=0.05)


def export(dataflow: Dataflow, sink: Any, **kwargs: Any) -> RunReport:
    """One run of the engine into `sink`, without waiting between retries."""
    settle_changes()
    kwargs.setdefault("policy", no_wait_policy())
    kwargs.setdefault("budget_s", 120)
    Dataflow.objects.filter(pk=dataflow.pk).update(retry_at=None)
    return services.dataflow_run(dataflow_id=dataflow.pk, sink=sink, **kwargs)


def ensure_namespaces() -> None:
    """The built-in namespaces (seeded by a migration; a transactional test flushes them)."""
    IdentityNamespace.objects.bulk_create(
        [IdentityNamespace(code=code, name=code, builtin=True) for code in BUILTIN_NAMESPACES],
        ignore_conflicts=True,
    )


def upsert(email: str, attributes: dict | None = None, **identities: str) -> int:
    """Write one profile through the real write service; its id."""
    ensure_namespaces()
    identity_map = {"email": [{"id": email}]}
    identity_map.update({ns: [{"id": value}] for ns, value in identities.items()})
    result = profiles_upsert(
        records=[{"identityMap": identity_map, "attributes": attributes or {}}], source="api"
    )[0]
    assert result.ok, result.error
    return result.profile_id


def add_identity(email: str, namespace: str, value: str) -> None:
    upsert(email, None, **{namespace: value})


def segment_of(name: str, rule: dict) -> Segment:
    return segment_create(name=name, rule=rule, evaluate=False)


def vip_segment() -> Segment:
    return segment_of("VIP", {"path": "loyalty.tier", "op": "equals", "value": "gold"})


def dataflow_for(
    segments: Iterable[Segment],
    *,
    attributes: Iterable[str | tuple[str, str]] = DEFAULT_ATTRIBUTES,
    identities: Iterable[tuple[str, bool]] = (("email", False),),
    activate: bool = True,
    **fields: Any,
) -> Dataflow:
    """An enabled dataflow mapped like the wizard maps one (activated: cursor at head)."""
    fields.setdefault("partition_key_source", "email")
    dataflow = DataflowFactory(**fields)
    for segment in segments:
        DataflowSegment.objects.create(dataflow=dataflow, segment=segment)
    for position, attribute in enumerate(attributes):
        source, target = attribute if isinstance(attribute, tuple) else (attribute, "")
        AttributeMapping.objects.create(
            dataflow=dataflow, source_path=source, target_path=target, position=position
        )
    for namespace, hashed in identities:
        IdentitySelection.objects.create(dataflow=dataflow, namespace=namespace, hashed=hashed)
    if activate:
        services.dataflow_activate(dataflow=dataflow)
    dataflow.refresh_from_db()
    return dataflow


def documents(sink: MemorySink) -> list[dict]:
    return [json.loads(data) for data, _ in sink.entries]


def documents_by_key(sink: MemorySink) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for data, key in sink.entries:
        found.setdefault(key, []).append(json.loads(data))
    return found


class FaultySink(MemorySink):
    """A memory sink that raises `error` on every call while it is set."""

    def __init__(self) -> None:
        super().__init__()
        self.error: Exception | None = None

    def put_records(self, entries: list[tuple[bytes, str]]) -> list:
        if self.error is not None:
            self.calls += 1
            raise self.error
        return super().put_records(entries)


@pytest.fixture
def faulty_sink() -> FaultySink:
    return FaultySink()
