"""The reference's export rules (SPEC §3), one test each, through the real write service."""

import pytest

from activation.models import DeliveryLog
from profiles.models import ProfileChange
from tests.activation.export.conftest import (
    add_identity,
    dataflow_for,
    documents,
    documents_by_key,
    export,
    segment_of,
    upsert,
    vip_segment,
)

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = {"loyalty": {"tier": "gold"}}


def member(email: str, **attributes: object) -> int:
    return upsert(email, {**GOLD, **attributes})


def caught_up(dataflow, sink) -> None:
    """Export the activation backfill and everything before, then forget it."""
    export(dataflow, sink)
    sink.clear()
    DeliveryLog.objects.all().delete()


def test_unmapped_attribute_change_exports_nothing(sink):
    dataflow = dataflow_for([vip_segment()])
    member("ann@example.com", person={"name": {"firstName": "Ann"}})
    caught_up(dataflow, sink)

    upsert("ann@example.com", {"preferences": {"newsletter": True}})
    report = export(dataflow, sink)

    # Passed over in the database: an unmapped path never reaches the exporter,
    # and the cursor moves past it.
    change = ProfileChange.objects.latest("id")
    dataflow.refresh_from_db()
    assert (dataflow.cursor_txid, dataflow.cursor_change_id) >= (change.txid, change.id)
    assert report.changes_read == 0
    assert sink.entries == []


def test_mapped_attribute_written_exports_all_mapped_attributes(sink):
    dataflow = dataflow_for([vip_segment()])
    member(
        "ann@example.com",
        person={"name": {"firstName": "Ann", "lastName": "Lee"}},
        personalEmail={"address": "ann@example.com"},
    )
    caught_up(dataflow, sink)

    upsert("ann@example.com", {"person": {"name": {"firstName": "Anna"}}})
    export(dataflow, sink)

    [document] = documents(sink)
    assert document["person"] == {"name": {"firstName": "Anna", "lastName": "Lee"}}
    assert document["personalEmail"] == {"address": "ann@example.com"}
    assert DeliveryLog.objects.filter(reason="attribute").count() == 1


def test_same_value_rewritten_exports_by_default(sink):
    dataflow = dataflow_for([vip_segment()])
    member("ann@example.com", person={"name": {"firstName": "Ann"}})
    caught_up(dataflow, sink)

    upsert("ann@example.com", {"person": {"name": {"firstName": "Ann"}}})
    export(dataflow, sink)

    assert len(sink.entries) == 1


def test_same_value_rewritten_exports_nothing_with_value_change_option(sink):
    dataflow = dataflow_for([vip_segment()], export_only_on_value_change=True)
    member("ann@example.com", person={"name": {"firstName": "Ann"}})
    caught_up(dataflow, sink)

    upsert("ann@example.com", {"person": {"name": {"firstName": "Ann"}}})
    export(dataflow, sink)
    assert sink.entries == []

    upsert("ann@example.com", {"person": {"name": {"firstName": "Anna"}}})
    export(dataflow, sink)
    assert len(sink.entries) == 1


def test_identity_added_exports(sink):
    dataflow = dataflow_for([vip_segment()], identities=[("email", False), ("crmid", False)])
    member("ann@example.com")
    caught_up(dataflow, sink)

    add_identity("ann@example.com", "crmid", "CRM-1")
    export(dataflow, sink)

    [document] = documents(sink)
    assert document["identityMap"]["crmid"] == [{"id": "CRM-1"}]
    assert DeliveryLog.objects.get().reason == "identity"


def test_qualifying_exports_realized(sink):
    segment = vip_segment()
    dataflow = dataflow_for([segment])
    upsert("ann@example.com", {"loyalty": {"tier": "silver"}})
    caught_up(dataflow, sink)
    assert sink.entries == []

    upsert("ann@example.com", GOLD)
    export(dataflow, sink)

    [document] = documents(sink)
    assert document["segmentMembership"]["ups"][str(segment.pk)]["status"] == "realized"
    assert DeliveryLog.objects.get().reason == "segment"


def test_leaving_exports_exited(sink):
    segment = vip_segment()
    dataflow = dataflow_for([segment])
    member("ann@example.com")
    caught_up(dataflow, sink)

    upsert("ann@example.com", {"loyalty": {"tier": "silver"}})
    export(dataflow, sink)

    [document] = documents(sink)
    assert document["segmentMembership"]["ups"][str(segment.pk)]["status"] == "exited"


def test_after_leaving_mapped_attribute_writes_export_nothing(sink):
    dataflow = dataflow_for([vip_segment()])
    member("ann@example.com")
    upsert("ann@example.com", {"loyalty": {"tier": "silver"}})
    caught_up(dataflow, sink)

    upsert("ann@example.com", {"person": {"name": {"firstName": "Ann"}}})
    export(dataflow, sink)

    assert sink.entries == []


def test_100_members_and_5_newly_qualified_export_exactly_those_5(sink):
    dataflow = dataflow_for([vip_segment()])
    for n in range(100):
        member(f"old{n}@example.com")
    caught_up(dataflow, sink)

    new_emails = {f"new{n}@example.com" for n in range(5)}
    for email in sorted(new_emails):
        upsert(email, {"loyalty": {"tier": "silver"}})
    for email in sorted(new_emails):
        upsert(email, GOLD)
    export(dataflow, sink)

    assert set(documents_by_key(sink)) == new_emails
    assert len(sink.entries) == 5


def test_a_profile_in_two_dataflows_gets_one_record_in_each_stream():
    from activation.export.sinks import MemorySink

    vip = vip_segment()
    emailable = segment_of("Emailable", {"path": "personalEmail.address", "op": "exists"})
    first = dataflow_for([vip])
    second = dataflow_for([emailable, vip])
    first_stream, second_stream = MemorySink(), MemorySink()
    caught_up(first, first_stream)
    caught_up(second, second_stream)

    member("ann@example.com", personalEmail={"address": "ann@example.com"})
    export(first, first_stream)
    export(second, second_stream)

    assert [key for _, key in first_stream.entries] == ["ann@example.com"]
    assert [key for _, key in second_stream.entries] == ["ann@example.com"]
    [in_second] = documents(second_stream)
    assert set(in_second["segmentMembership"]["ups"]) == {str(vip.pk), str(emailable.pk)}


def test_activation_exports_current_members_only(sink):
    segment = vip_segment()
    for n in range(3):
        member(f"m{n}@example.com")
    upsert("other@example.com", {"loyalty": {"tier": "silver"}})
    dataflow = dataflow_for([segment])

    report = export(dataflow, sink)

    assert set(documents_by_key(sink)) == {f"m{n}@example.com" for n in range(3)}
    assert report.backfill_profiles == 3
    assert set(DeliveryLog.objects.values_list("reason", flat=True)) == {"backfill"}


def test_several_changes_of_one_profile_in_a_run_export_its_latest_state_once(sink):
    dataflow = dataflow_for([vip_segment()])
    member("ann@example.com", person={"name": {"firstName": "A"}})
    caught_up(dataflow, sink)

    for name in ("B", "C", "D"):
        upsert("ann@example.com", {"person": {"name": {"firstName": name}}})
    export(dataflow, sink)

    [document] = documents(sink)
    assert document["person"]["name"]["firstName"] == "D"
