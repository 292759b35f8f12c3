"""Issue 16, point 7, in the browser: the catalog's "Documentation" is our own page;
the disable dialog says changes made meanwhile are sent on re-enable; the schema
picker marks mapped paths (see test_wizard_autosave for the preselected destination)."""

from typing import Any

import pytest
from playwright.sync_api import expect

from activation.models import DataflowStatus
from tests.factories import ConnectionFactory, DataflowFactory

pytestmark = pytest.mark.browser


def test_documentation_opens_our_own_page(logged_in_page: Any, live_server: Any) -> None:
    page = logged_in_page
    page.goto(f"{live_server.url}/catalog/")
    card = page.get_by_role("listitem").filter(has_text="Amazon Kinesis")
    card.get_by_role("link", name="Documentation").click()
    assert page.url == f"{live_server.url}/destinations/docs/kinesis/"
    for heading in ("Permissions and the IAM policy", "The record format", "Limits"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("#docs-policy")).to_contain_text("kinesis:PutRecords")
    expect(page.get_by_role("button", name="Copy policy")).to_be_visible()


def test_the_disable_dialog_says_changes_are_sent_on_re_enable(
    logged_in_page: Any, live_server: Any, user: Any
) -> None:
    connection = ConnectionFactory(owner=user)
    dataflow = DataflowFactory(
        connection=connection, created_by=user, status=DataflowStatus.ENABLED
    )
    page = logged_in_page
    page.goto(f"{live_server.url}/dataflows/{dataflow.pk}/")
    page.get_by_role("link", name="Disable").click()
    expect(page.get_by_role("heading", name=f"Disable “{dataflow.name}”?")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Changes made meanwhile")).to_contain_text(
        "sent when you enable it again"
    )
