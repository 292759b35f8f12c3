"""In a real browser: a marketer opens a live dataflow Alice started editing and
left, sees who is editing and since when, takes the edit over and continues it;
Alice, back later, is told. Then Alice discards the marketer's edit the same way."""

from typing import Any

import pytest

from activation import services
from activation.models import Dataflow
from tests.activation.wizard.test_views import ready_draft
from tests.conftest import PASSWORD
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def alice(db: Any) -> Any:
    return UserFactory(username="alice", first_name="Alice", last_name="Martin", password=PASSWORD)


@pytest.fixture
def live(user: Any) -> Dataflow:
    connection = ConnectionFactory(owner=user, name="Marketing stream")
    segments = [SegmentFactory(name="Newsletter subscribers"), SegmentFactory(name="VIP")]
    return services.dataflow_finish(
        dataflow=ready_draft(user, connection, segments), user=user, name="Weekly newsletter"
    )


def log_in(browser: Any, live_server: Any, username: str) -> Any:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/catalog/")
    return page


def test_an_abandoned_edit_is_taken_over_and_its_editor_told(
    logged_in_page: Any, browser: Any, live_server: Any, user: Any, alice: Any, live: Dataflow
) -> None:
    alices = log_in(browser, live_server, "alice")
    alices.goto(f"{live_server.url}/dataflows/{live.pk}/")
    alices.get_by_role("button", name="Edit segments and mapping").click()
    alices.get_by_role("heading", name="Select segments").wait_for()
    alices_edit_url = alices.url
    # Alice walks away from her edit.

    page = logged_in_page
    page.goto(f"{live_server.url}/dataflows/{live.pk}/")
    assert "Alice Martin has an unfinished edit" in page.locator("#edit-in-progress").inner_text()
    page.get_by_role("button", name="Edit segments and mapping").click()
    lock = page.locator("#edit-lock")
    lock.wait_for()
    assert "Alice Martin" in lock.inner_text()
    assert "has been editing this dataflow since" in lock.inner_text()
    page.get_by_role("button", name="Take over the edit").click()
    page.get_by_role("heading", name="Select segments").wait_for()
    assert "You took over Alice Martin's edit" in page.locator("#messages").inner_text()
    assert page.url == alices_edit_url  # the same edit, with Alice's changes so far

    # Alice comes back to her edit: told what happened, and who holds it now.
    alices.goto(alices_edit_url)
    assert (
        "took over your unfinished edit of “Weekly newsletter”"
        in alices.locator("#messages").inner_text()
    )
    assert user.username in alices.locator("#edit-lock").inner_text()

    # Alice discards it in turn (confirming), and the dataflow is free again.
    alices.once("dialog", lambda dialog: dialog.accept())
    alices.get_by_role("button", name="Discard their edit").click()
    alices.wait_for_url(f"{live_server.url}/dataflows/{live.pk}/")
    assert "Discarded" in alices.locator("#messages").inner_text()
    assert not Dataflow.objects.filter(edit_of=live).exists()
    page.goto(f"{live_server.url}/catalog/")
    assert "discarded your unfinished edit" in page.locator("#messages").inner_text()
    alices.context.close()
