"""A marketer activates two segments with three attributes and a hashed email in the
browser, sees the sample record, finishes, and finds the dataflow enabled; the record
the exporter then puts into the (local, moto) stream is the one the review showed."""

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from activation.export.services import dataflow_run
from activation.models import Dataflow, DataflowStatus
from tests.activation.wizard.conftest import member
from tests.factories import ConnectionFactory, SegmentFactory
from tests.support.local_kinesis import ANY_KEY, LocalKinesis, serving_streams

pytestmark = pytest.mark.browser
STREAM = "wizard-stream"


@pytest.fixture
def local_kinesis(settings: Any) -> Iterator[LocalKinesis]:
    with serving_streams(settings, {STREAM: 2}) as server:
        yield server


@pytest.fixture
def audience(user: Any) -> dict:
    connection = ConnectionFactory(
        owner=user,
        name="Marketing stream",
        stream_name=STREAM,
        access_key_id=ANY_KEY[0],
        secret=ANY_KEY[1],
        include_segment_names=True,
    )
    newsletter = SegmentFactory(name="Newsletter subscribers")
    vip = SegmentFactory(name="VIP customers")
    SegmentFactory(name="Churn risk")
    people = []
    for n, segment in enumerate([newsletter, newsletter, vip]):
        people.append(
            member(
                segment,
                attributes={
                    "person": {
                        "name": {"firstName": f"Ann{n}", "lastName": f"Lee{n}"},
                        "birthDate": f"199{n}-01-0{n + 1}",
                    },
                    "personalEmail": {"address": f"ann{n}@example.com"},
                    "loyalty": {"tier": "gold"},
                },
                identities={"ecid": f"ECID-{n}", "email": f"Ann{n}@Example.com"},
            )
        )
    return {"connection": connection, "people": people, "segments": [newsletter, vip]}


def test_a_marketer_activates_two_segments(
    logged_in_page: Any, live_server: Any, local_kinesis: LocalKinesis, audience: dict
) -> None:
    page = logged_in_page
    page.goto(f"{live_server.url}/dataflows/wizard/new/")

    # Step 1: the destination.
    page.get_by_label(re.compile("Marketing stream")).check()
    page.get_by_role("button", name="Next: select segments").click()

    # Step 2: search, tick two segments (saved as they are ticked, over htmx).
    page.get_by_role("heading", name="Select segments").wait_for()
    page.get_by_label("Search segments").fill("vip")
    page.get_by_label("Newsletter subscribers").wait_for(state="detached")
    page.get_by_label("VIP customers").check()
    page.get_by_text("Selected (1)").wait_for()
    page.get_by_label("Search segments").fill("")
    page.get_by_label("Newsletter subscribers").check()
    page.get_by_text("Selected (2)").wait_for()
    page.get_by_role("button", name="Next: mapping").click()

    # Step 3: the defaults are prefilled; swap lastName for birthDate from the picker.
    page.get_by_role("heading", name="Profile schema").wait_for()
    assert page.get_by_label("Source attribute 1").input_value() == "person.name.firstName"
    page.get_by_role("button", name="Remove person.name.lastName").click()
    page.get_by_role("button", name="Remove person.name.lastName").wait_for(state="detached")
    page.get_by_label("Search attributes").fill("birth")
    page.get_by_role("button", name="Add loyalty.tier").wait_for(state="detached")
    page.get_by_role("button", name="Add person.birthDate").click()
    page.get_by_label("Source attribute 3").wait_for()
    assert page.get_by_label("Source attribute 3").input_value() == "person.birthDate"
    page.get_by_label("Hash email").check()
    assert page.locator('[data-exported-for="email"]').inner_text() == "email_lc_sha256"
    assert page.get_by_label("Partition key").input_value() == "ecid"
    page.get_by_role("button", name="Next: review").click()

    # Step 4: the review shows a real member's record, exactly as it will be sent.
    page.get_by_role("heading", name="Sample record").wait_for()
    data = page.locator("#sample-data").inner_text()
    document = json.loads(data)
    first_id = int(page.locator("#sample-profile").inner_text())
    person = next(p for p in audience["people"] if p.pk == first_id)
    n = audience["people"].index(person)
    assert document["person"] == {
        "name": {"firstName": f"Ann{n}"},
        "birthDate": f"199{n}-01-0{n + 1}",
    }
    assert document["personalEmail"] == {"address": f"ann{n}@example.com"}
    email_hash = hashlib.sha256(f"ann{n}@example.com".encode()).hexdigest()
    assert document["identityMap"]["email_lc_sha256"] == [{"id": email_hash}]
    assert "loyalty" not in document
    assert page.locator("#sample-partition-key").inner_text() == f"ECID-{n}"
    size = int(page.locator("#sample-size").inner_text().replace(",", ""))
    assert size == len(data.encode()) + len(f"ECID-{n}")
    # The stream's capacity (asked from the local endpoint) against the backfill.
    page.get_by_text("Provisioned, 2 shards").wait_for()
    page.get_by_text("2,000 records/s and 2 MiB/s").wait_for()
    # Another sample: another member.
    page.get_by_role("link", name="Another sample").click()
    page.wait_for_function(
        "id => document.querySelector('#sample-profile').textContent.trim() !== String(id)",
        arg=first_id,
    )

    # Finish: enabled, and the dataflow's page says so.
    page.get_by_label("Dataflow name").fill("Welcome journey")
    page.get_by_role("button", name="Finish and enable").click()
    page.get_by_text("“Welcome journey” is enabled").wait_for()
    dataflow = Dataflow.objects.get(name="Welcome journey")
    assert page.url.endswith(f"/dataflows/{dataflow.pk}/")
    assert dataflow.status == DataflowStatus.ENABLED
    assert dataflow.mapped_segments.count() == 2

    # The exporter sends what the review showed (each record has its own _id).
    dataflow_run(dataflow_id=dataflow.pk)
    sent = {e.partition_key: e for e in local_kinesis.read_stream(STREAM)}
    assert set(sent) == {"ECID-0", "ECID-1", "ECID-2"}
    streamed = sent[f"ECID-{n}"].document
    del streamed["_id"], document["_id"]
    assert streamed == document
