"""Done when (issue 12): the dataflow page stays open while a profile change is POSTed
to the API and a real Celery worker exports it to a local Kinesis endpoint; the page
shows the new counts and last activity without a reload, within 3 s of the record
reaching the stream."""

import time
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from activation.export.services import dataflow_activate
from activation.models import AttributeMapping, DataflowSegment
from core.models import ApiToken
from profiles.models import IdentityNamespace
from profiles.segments import segment_create
from tests.conftest import wait_for
from tests.e2e import conftest as e2e
from tests.factories import ConnectionFactory, DataflowFactory

# The end-to-end fixtures: a local Kinesis endpoint and a Celery worker exporting to it.
e2e_kinesis_server = e2e.e2e_kinesis_server
kinesis = e2e.kinesis
celery_worker_process = e2e.celery_worker_process
STREAM = e2e.STREAM

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.django_db(transaction=True)]

# What the issue asks: a change that reached the stream shows within 3 s.
SHOWN_WITHIN_MS = 3000


def gold(n: int) -> dict:
    return {
        "identityMap": {"email": [{"id": f"g{n}@example.com"}], "crmid": [{"id": f"crm-{n}"}]},
        "attributes": {"loyalty": {"tier": "gold"}, "person": {"name": {"firstName": f"G{n}"}}},
    }


def test_the_open_dataflow_page_follows_a_streaming_export(
    logged_in_page: Any, live_server: Any, user: Any, kinesis: Any, celery_worker_process: Any
) -> None:
    for code in ("ecid", "email", "crmid"):
        IdentityNamespace.objects.get_or_create(code=code, defaults={"name": code})
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {ApiToken.issue(user=user, name='live')[1]}"

    def post_profiles(records: list[dict]) -> None:
        answer = api.post(f"{live_server.url}/api/v1/profiles", json=records, timeout=30)
        assert answer.status_code == 200, answer.text

    segment = segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    connection = ConnectionFactory(owner=user, name="Live stream", stream_name=STREAM)
    dataflow = DataflowFactory(
        connection=connection, name="Gold to Kinesis", partition_key_source="crmid"
    )
    DataflowSegment.objects.create(dataflow=dataflow, segment=segment)
    AttributeMapping.objects.create(dataflow=dataflow, source_path="person.name.firstName")
    post_profiles([gold(n) for n in range(3)])
    dataflow_activate(dataflow=dataflow)

    # The page, opened while the worker backfills, follows it to the end by itself.
    page = logged_in_page
    page.goto(f"{live_server.url}/dataflows/{dataflow.pk}/")
    received = page.locator("#kpi-received")
    expect(received).to_have_text("3", timeout=60_000)
    expect(page.locator("#kpi-activated")).to_have_text("3")
    expect(page.locator("#dataflow-state")).to_have_text("Enabled", timeout=30_000)
    activity = page.locator("#dataflow-last-activity time")
    before = activity.get_attribute("datetime")
    expect(activity).to_have_text("just now")
    page.evaluate("window.notReloaded = true")

    # A new gold profile through the API, the page left alone.
    post_profiles([gold(3)])
    wait_for(
        lambda: "crm-3" in {e.partition_key for e in kinesis.read_stream(STREAM)},
        seconds=60,
        every=0.1,
    )
    in_stream = time.monotonic()
    expect(received).to_have_text("4", timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#kpi-activated")).to_have_text("4", timeout=SHOWN_WITHIN_MS)
    expect(activity).not_to_have_attribute("datetime", before, timeout=SHOWN_WITHIN_MS)
    shown_after_s = time.monotonic() - in_stream
    assert shown_after_s <= SHOWN_WITHIN_MS / 1000, shown_after_s
    # The runs table followed too, and none of it was a reload.
    expect(page.locator(".runs-table tbody tr").first.locator("td").nth(3)).to_have_text("4")
    assert page.evaluate("window.notReloaded") is True
