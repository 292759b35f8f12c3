"""Record ids: one export of one profile keeps its `_id` in every send, even a resend
by a later run after a crash; a new export (a new change, a new backfill) gets a new one."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from activation.export import services
from activation.export.records import record_for_profile
from activation.export.sinks import MemorySink
from activation.models import DeliveryLog
from tests.activation.export.conftest import dataflow_for, export, upsert, vip_segment

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = {"loyalty": {"tier": "gold"}}
HEX32 = re.compile(r"[0-9a-f]{32}")


class CrashingSink(MemorySink):
    """Takes the records of its first call, then dies before the run can record them
    (the worst moment for a crash: delivered, position not moved)."""

    def __init__(self) -> None:
        super().__init__()
        self.crash = True

    def put_records(self, entries: list[tuple[bytes, str]]) -> list:
        results = super().put_records(entries)
        if self.crash:
            self.crash = False
            raise RuntimeError("worker killed after the stream accepted the batch")
        return results


def ids_by_key(sink: MemorySink) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for data, key in sink.entries:
        found.setdefault(key, []).append(json.loads(data)["_id"])
    return found


def members(count: int, prefix: str = "m") -> list[int]:
    return [upsert(f"{prefix}{n}@example.com", GOLD) for n in range(count)]


@pytest.mark.parametrize("path", ["changes", "backfill"])
def test_a_chunk_resent_after_a_crash_carries_the_ids_of_its_first_send(path: str) -> None:
    segment = vip_segment()
    if path == "backfill":
        members(5)
    dataflow = dataflow_for([segment])
    if path == "changes":
        members(5)
    sink = CrashingSink()

    first = export(dataflow, sink)
    resent = export(dataflow, sink)

    assert (first.state, resent.state) == ("stopped", "caught_up")
    sends = ids_by_key(sink)
    assert len(sends) == 5
    for key, ids in sends.items():
        assert len(ids) == 2 and ids[0] == ids[1], key
        assert HEX32.fullmatch(ids[0])
    logged = set(DeliveryLog.objects.filter(dataflow=dataflow).values_list("record_id", flat=True))
    assert logged == {ids[0] for ids in sends.values()}


def test_a_new_change_a_new_backfill_and_another_dataflow_give_new_ids(sink: Any) -> None:
    segment = vip_segment()
    dataflow = dataflow_for([segment])
    upsert("ann@example.com", GOLD)
    export(dataflow, sink)
    upsert("ann@example.com", {**GOLD, "person": {"name": {"firstName": "Ann"}}})
    export(dataflow, sink)
    services.backfill_start(dataflow=dataflow, segment_ids=[segment.pk], reason="replay")
    export(dataflow, sink)
    services.backfill_start(dataflow=dataflow, segment_ids=[segment.pk], reason="replay")
    export(dataflow, sink)
    other = dataflow_for([segment])
    export(other, sink)

    ids = ids_by_key(sink)["ann@example.com"]
    assert len(ids) == 5 and len(set(ids)) == 5, ids


def test_the_review_sample_shows_an_id_of_the_same_form(sink: Any) -> None:
    segment = vip_segment()
    profile_id = upsert("ann@example.com", GOLD)
    dataflow = dataflow_for([segment])
    export(dataflow, sink)

    sample = record_for_profile(dataflow=dataflow, profile_id=profile_id)
    [(sent, key)] = sink.entries

    assert HEX32.fullmatch(sample.record_id) and HEX32.fullmatch(json.loads(sent)["_id"])
    # Byte for byte the same record but for the id (the sample is never sent).
    sample_doc, sent_doc = json.loads(sample.data), json.loads(sent)
    assert {**sample_doc, "_id": ""} == {**sent_doc, "_id": ""}
    assert list(sample_doc) == list(sent_doc) and key == sample.partition_key
