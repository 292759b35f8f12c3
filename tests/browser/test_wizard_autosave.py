"""The mapping step saves every choice as it is made: rows added from the schema
picker, target paths, identity and hash ticks, the partition key and the export
option survive a reload, a click on a step pill and the browser's Back button.
A wrong target path is shown on the target, not the source, and clears when fixed."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from activation.models import Dataflow
from tests.activation.wizard.conftest import member
from tests.factories import ConnectionFactory, SegmentFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def audience(user: Any) -> None:
    ConnectionFactory(owner=user, name="Marketing stream", stream_name="wizard-stream")
    newsletter = SegmentFactory(name="Newsletter subscribers")
    for n in range(2):
        member(
            newsletter,
            attributes={
                "person": {"name": {"firstName": f"Ann{n}", "lastName": f"Lee{n}"}},
                "personalEmail": {"address": f"ann{n}@example.com"},
                "loyalty": {"tier": "gold"},
            },
            # Namespaces found on the members (registered ones are gone after a
            # transactional test flushed the data migrations' rows).
            identities={"ecid": f"E-{n}", "email": f"ann{n}@example.com", "crmid": f"C-{n}"},
        )


def saving(page: Any) -> Any:
    """Wait for the autosave's answer to the change made inside the block."""
    return page.expect_response(lambda r: "/mapping/save/" in r.url and r.status == 200)


def assert_choices_kept(page: Any) -> None:
    page.get_by_role("heading", name="Profile schema").wait_for()
    assert page.get_by_label("Source attribute 4").input_value() == "loyalty.tier"
    assert page.get_by_label("Target path 1").input_value() == "first"
    assert page.get_by_label("Hash email").is_checked()
    assert not page.get_by_label("Include crmid").is_checked()
    assert page.get_by_label("Partition key").input_value() == "email"
    assert page.get_by_label("Only when a mapped value actually changes").is_checked()


def test_mapping_choices_survive_reload_step_pills_and_back(
    logged_in_page: Any, live_server: Any, audience: None
) -> None:
    page = logged_in_page
    page.goto(f"{live_server.url}/dataflows/wizard/new/")
    # The only destination is preselected.
    assert page.get_by_label(re.compile("Marketing stream")).is_checked()
    page.get_by_role("button", name="Next: select segments").click()
    page.get_by_label("Newsletter subscribers").check()
    page.get_by_text("Selected (1)").wait_for()
    page.get_by_role("button", name="Next: mapping").click()
    page.get_by_role("heading", name="Profile schema").wait_for()

    # A row from the picker: saved, and the picker marks it as mapped.
    with saving(page):
        page.get_by_role("button", name="Add loyalty.tier").click()
    page.get_by_label("loyalty.tier is mapped").wait_for()
    page.reload()
    assert page.get_by_label("Source attribute 4").input_value() == "loyalty.tier"
    assert page.get_by_label("loyalty.tier is mapped").is_visible()

    # A wrong target path: the error is on the target, the field is marked, nothing breaks.
    target: Callable[[], Any] = lambda: page.get_by_label("Target path 1")  # noqa: E731
    with saving(page):
        target().fill("identityMap.first")
        target().press("Tab")
    page.locator("#target-error-0").get_by_text("would overwrite identityMap").wait_for()
    assert page.locator("#source-error-0").inner_text().strip() == ""
    assert target().get_attribute("aria-invalid") == "true"
    page.get_by_text("Not saved yet").wait_for()
    with saving(page):
        target().fill("first")
        target().press("Tab")
    page.get_by_text("All changes saved.").wait_for()
    assert page.locator("#target-error-0").inner_text().strip() == ""
    assert target().get_attribute("aria-invalid") is None

    # Ticks, the partition key and the option, each saved on its own.
    with saving(page):
        page.get_by_label("Hash email").check()
    with saving(page):
        page.get_by_label("Include crmid").uncheck()
    with saving(page):
        page.get_by_label("Partition key").select_option("email")
    with saving(page):
        page.get_by_label("Only when a mapped value actually changes").check()

    dataflow = Dataflow.objects.get()
    assert dataflow.partition_key_source == "email" and dataflow.export_only_on_value_change

    # Reload.
    page.reload()
    assert_choices_kept(page)
    # A step pill away and back.
    page.get_by_role("link", name="Select segments").click()
    page.get_by_role("heading", name="Select segments").wait_for()
    page.get_by_role("link", name="Mapping").click()
    assert_choices_kept(page)
    # Leave by the review pill, then the browser's Back button.
    page.get_by_role("link", name="Review").click()
    page.get_by_role("heading", name="Sample record").wait_for()
    page.go_back()
    assert_choices_kept(page)

    # The review step's name is kept as it is typed, too.
    page.get_by_role("link", name="Review").click()
    page.get_by_role("heading", name="Sample record").wait_for()
    # The autosave listener is attached once the page's scripts have run.
    page.wait_for_load_state("load")
    with page.expect_response(lambda r: "/name/" in r.url and r.status == 200):
        page.get_by_label("Dataflow name").fill("Welcome journey")
        page.get_by_label("Dataflow name").press("Tab")
    page.get_by_text("Name saved.").wait_for()
    page.reload()
    assert page.get_by_label("Dataflow name").input_value() == "Welcome journey"


def test_a_segment_ticked_before_the_scripts_load_is_still_selected(
    logged_in_page: Any, live_server: Any, audience: None
) -> None:
    """A quick click (or the browser restoring the box on Back) ticks a segment while htmx
    is still loading: once htmx is up the selection follows the box."""
    page = logged_in_page
    page.goto(f"{live_server.url}/dataflows/wizard/new/")
    held: list[Any] = []
    page.route(re.compile(r"/htmx-2[^/]*\.js$"), lambda route: held.append(route))  # hold htmx
    page.get_by_role("button", name="Next: select segments").click()
    page.get_by_label("Newsletter subscribers").check()
    for _ in range(100):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page asked for htmx"
    assert page.get_by_text("Selected (0)").is_visible()

    held[0].continue_()

    page.get_by_text("Selected (1)").wait_for()
    assert Dataflow.objects.get().mapped_segments.count() == 1
