"""The UI and the API count the same dataflows: a wizard draft or an edit copy is no
dataflow anywhere (both count `Dataflow.objects.live()`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory, DataflowFactory

pytestmark = pytest.mark.django_db


def test_one_enabled_dataflow_and_a_wizard_draft_count_one_everywhere(
    logged_in_client: Any, api: Any, user: Any
) -> None:
    connection = ConnectionFactory(owner=user, name="Counted")
    enabled = DataflowFactory(connection=connection, status="enabled")
    DataflowFactory(connection=connection, status="draft", created_by=user)
    DataflowFactory(connection=connection, status="draft", edit_of=enabled, created_by=user)

    listing = logged_in_client.get(reverse("destinations:list")).content.decode()
    row = re.search(r"Counted.*?</tr>", listing, re.S)
    assert row is not None and "<td>1</td>" in row.group(0)
    detail = logged_in_client.get(reverse("destinations:detail", args=[connection.pk]))
    assert "<dt>Dataflows</dt><dd>1</dd>" in detail.content.decode()
    assert "In use by 1 dataflow:" in detail.content.decode()

    one = api.get(f"/api/v1/connections/{connection.pk}")
    assert one.status == 200 and one.body["dataflowCount"] == 1
    listed = api.get("/api/v1/connections")
    assert [c["dataflowCount"] for c in listed.body["items"] if c["id"] == connection.pk] == [1]
    dataflows = api.get(f"/api/v1/dataflows?connectionId={connection.pk}")
    assert dataflows.body["_page"]["count"] == 1
    assert [d["id"] for d in dataflows.body["items"]] == [enabled.pk]
