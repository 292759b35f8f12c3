import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_logs_in_and_sees_the_kinesis_card(logged_in_page, live_server):
    page = logged_in_page
    card = page.get_by_role("listitem").filter(has_text="Amazon Kinesis")
    assert card.get_by_role("heading", name="Amazon Kinesis").is_visible()
    assert card.get_by_text("Beta", exact=True).is_visible()
    assert card.get_by_role("link", name="Set up").is_visible()
    assert page.get_by_role("link", name="Catalog").get_attribute("aria-current") == "page"


def test_a_wrong_password_is_explained(page, live_server, user):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    # The refusal is a new page: wait for it (is_visible() would not wait).
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
