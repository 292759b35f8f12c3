"""Both wizards with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrow keys; no
click): a marketer connects a stream, then activates a segment to it. Every control
is reached in a sensible order with a visible focus, and each step has no serious or
critical axe-core violation."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from activation.models import Dataflow, DataflowStatus
from destinations.models import Connection
from tests.activation.wizard.conftest import member
from tests.factories import ConnectionFactory, SegmentFactory
from tests.support.a11y import blocking_violations
from tests.support.local_kinesis import ANY_KEY, LocalKinesis, serving_streams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
STREAM = "web-orders"

# Whether the focused element shows it: an outline or a ring, as :focus-visible draws.
FOCUS_VISIBLE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || style.boxShadow !== "none";
}"""


@pytest.fixture
def aws(settings: Any) -> Iterator[LocalKinesis]:
    with serving_streams(settings, {"clickstream": 1, STREAM: 1}) as server:
        yield server


def tab_to(page: Any, target: Any, *, backwards: bool = False, limit: int = 200) -> None:
    """Press Tab (Shift+Tab) until `target` has the focus, which must be visible."""
    target.wait_for()
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if target.evaluate("el => el === document.activeElement"):
            assert page.evaluate(FOCUS_VISIBLE_JS), f"no visible focus on {target}"
            return
    raise AssertionError(f"{target} cannot be reached with the keyboard")


def no_blocking_violations(page: Any, step: str) -> None:
    page.wait_for_load_state("networkidle")
    violations = blocking_violations(page)
    assert not violations, f"{step}:\n  " + "\n  ".join(violations)


def test_both_wizards_with_the_keyboard_alone(
    logged_in_page: Any, live_server: Any, aws: LocalKinesis, user: Any
) -> None:
    page = logged_in_page
    segment = SegmentFactory(name="Newsletter subscribers")
    SegmentFactory(name="Churn risk")
    ConnectionFactory(owner=user, name="Another stream", stream_name="clickstream")
    for n in range(2):
        member(
            segment,
            attributes={"person": {"name": {"firstName": f"Ann{n}", "lastName": "Lee"}}},
            identities={"ecid": f"ECID-{n}", "email": f"ann{n}@example.com"},
        )

    # --- the connect wizard ---------------------------------------------------------------
    page.goto(f"{live_server.url}/catalog/")
    no_blocking_violations(page, "catalog")
    tab_to(page, page.get_by_role("link", name="Set up"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Authenticate")).to_be_visible()
    no_blocking_violations(page, "connect: authenticate")
    tab_to(page, page.get_by_label("Access key ID"))
    page.keyboard.type(ANY_KEY[0])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Secret access key")).to_be_focused()
    page.keyboard.type(ANY_KEY[1])
    tab_to(page, page.get_by_role("button", name="Connect"))
    # Back to the region, and forward again: the order holds both ways.
    tab_to(page, page.get_by_label("Region"), backwards=True)
    expect(page.get_by_label("Region")).to_have_value("us-east-1")
    tab_to(page, page.get_by_role("button", name="Connect"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Connected.")).to_contain_text(
        "2 streams found"
    )
    no_blocking_violations(page, "connect: connected")
    tab_to(page, page.get_by_role("link", name="Continue"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Destination details")).to_be_visible()
    no_blocking_violations(page, "connect: details")
    tab_to(page, page.get_by_label("Search your streams"))
    page.keyboard.type("orders")
    expect(page.locator(".stream-option")).to_have_count(1)
    tab_to(page, page.get_by_role("button", name=STREAM))
    page.keyboard.press("Space")
    expect(page.get_by_label("Stream", exact=True)).to_have_value(STREAM)
    tab_to(page, page.get_by_label("Name", exact=True))
    page.keyboard.type("Web orders")
    tab_to(page, page.get_by_label("Include Segment Names"))
    page.keyboard.press("Space")
    expect(page.get_by_label("Include Segment Names")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Save and check permissions"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Web orders", level=1)).to_be_visible()
    expect(page.locator("#health-badge")).to_have_text("Healthy")
    no_blocking_violations(page, "connection page")
    connection = Connection.objects.get(name="Web orders")
    assert connection.stream_name == STREAM and connection.include_segment_names

    # --- the activation wizard ---------------------------------------------------------------
    tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Dataflows"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="Activate segments"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Select destination")).to_be_visible()
    no_blocking_violations(page, "activation: destination")
    # A radio group: Tab enters it, arrow keys choose.
    radios = page.get_by_role("radio")
    expect(radios).to_have_count(2)
    tab_to(page, radios.first)
    web_orders = page.get_by_role("radio", name=re.compile("Web orders"))
    for _ in range(2):
        if web_orders.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(web_orders).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Next: select segments"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Select segments")).to_be_visible()
    no_blocking_violations(page, "activation: segments")
    tab_to(page, page.get_by_label("Newsletter subscribers"))
    page.keyboard.press("Space")
    expect(page.get_by_text("Selected (1)")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Next: mapping"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Profile schema")).to_be_visible()
    no_blocking_violations(page, "activation: mapping")
    tab_to(page, page.get_by_label("Hash email"))
    page.keyboard.press("Space")
    expect(page.get_by_label("Hash email")).to_be_checked()
    tab_to(page, page.get_by_label("Partition key"))
    expect(page.get_by_label("Partition key")).to_have_value("ecid")
    tab_to(page, page.get_by_role("button", name="Next: review"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Sample record")).to_be_visible()
    no_blocking_violations(page, "activation: review")
    tab_to(page, page.get_by_label("Dataflow name"))
    page.keyboard.press("Control+A")
    page.keyboard.type("Keyboard journey")
    tab_to(page, page.get_by_role("button", name="Finish and enable"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("“Keyboard journey” is enabled")).to_be_visible()
    dataflow = Dataflow.objects.get(name="Keyboard journey")
    assert dataflow.status == DataflowStatus.ENABLED and dataflow.connection == connection
    assert re.search(rf"/dataflows/{dataflow.pk}/$", page.url)
    assert dataflow.identity_selections.get(namespace="email").hashed
    no_blocking_violations(page, "dataflow page")
