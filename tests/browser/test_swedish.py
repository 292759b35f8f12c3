"""A Swedish marketer connects a stream, activates segments and looks at the
dataflow, all in Swedish: no English leftovers in the visible text, and the
layout holds with the longer Swedish words at 1280x800 (screenshots saved in
var/screenshots/ for a person to look at)."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from activation.models import Dataflow
from core.models import UserPreference
from tests.activation.wizard.conftest import member
from tests.factories import SegmentFactory
from tests.support.local_kinesis import ANY_KEY, LocalKinesis, serving_streams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STREAM = "kampanjflode"
WIDTH, HEIGHT = 1280, 800
SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"

# Common English UI words that a Swedish page must not show. Words Swedish
# shares with English (status, region, segment, data, period, trend, beta, shard,
# in, all, test, policy, just; "segments" is also a Swedish genitive, so only the
# capitalised heading counts) are left out; product and AWS names (Amazon Kinesis, AWS, IAM,
# ARN, JSON, API, ECID, UTC) never are English words here.
ENGLISH_WORDS = frozenset(
    """
    the and of to for with from your you this that these is are was be by or not no yet
    save cancel next back review connection connections delete edit search remove
    add select destination destinations dataflow dataflows profile profiles attribute
    attributes identity identities mapping enable enabled disable disabled continue finish
    connect connected details stream streams record records activate activation activated
    alerts alert catalog log out help settings loading never ago now minute minutes
    hour hours day days previous page choose show hide copy run runs failed excluded
    received health healthy unknown processing error draft drafts partition key discard
    name description credentials account permission permissions check checks
    authenticate authentication exported include included timestamps capacity sample
    members member size active inactive open close new last first change changes sent
    """.split()  # noqa: SIM905 - a word list reads better as prose
)

# Visible text of the page, without code samples (paths, JSON, policy documents),
# without elements in another language (the switch's "English"), and without
# what the user typed or the fixtures named (passed in as `allowed`).
VISIBLE_TEXT_JS = """
() => {
  const skip = "code, pre, script, style, kbd, samp, noscript, svg, [lang]:not(html), [hidden]";
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (!parent.getClientRects().length) continue;  // not rendered
    const style = getComputedStyle(parent);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const text = node.textContent.trim();
    if (text) texts.push(text);
  }
  return texts;
}
"""


def english_leftovers(page: Any, allowed: set[str]) -> list[str]:
    """Each visible text fragment that contains an English UI word."""
    found = []
    for text in page.evaluate(VISIBLE_TEXT_JS):
        if text in allowed:
            continue
        # Identifiers are not words: ARNs, paths, AWS status codes (ACTIVE).
        tokens = [t for t in text.split() if not re.search(r"[:/._]", t) and not t.isupper()]
        words = {w.lower() for t in tokens for w in re.findall(r"[A-Za-z]+", t)}
        hits = sorted(words & ENGLISH_WORDS | {"Segments"} & set(tokens))
        if hits:
            found.append(f"{hits}: {text[:100]!r}")
    return found


def check_page(page: Any, name: str, allowed: set[str], leftovers: dict[str, list[str]]) -> None:
    """Record the page's English leftovers, save its screenshot, check its width."""
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.lang") == "sv", name
    if found := english_leftovers(page, allowed):
        leftovers[name] = found
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"sv-{name}.png"))
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= WIDTH, f"{name}: {scroll_width} px wide, overflows {WIDTH} px"


@pytest.fixture
def local_kinesis(settings: Any) -> Iterator[LocalKinesis]:
    with serving_streams(settings, {STREAM: 2, "arkiv": 1}) as server:
        yield server


@pytest.fixture
def swedish_user(user: Any) -> Any:
    UserPreference.objects.create(user=user, language="sv")
    return user


@pytest.fixture
def audience() -> list[Any]:
    newsletter = SegmentFactory(name="Nyhetsbrevsprenumeranter")
    loyal = SegmentFactory(name="Lojala kunder")
    people = []
    for n, segment in enumerate([newsletter, newsletter, loyal]):
        people.append(
            member(
                segment,
                attributes={
                    "person": {"name": {"firstName": f"Anna{n}", "lastName": f"Berg{n}"}},
                    "personalEmail": {"address": f"anna{n}@example.se"},
                },
                identities={"ecid": f"ECID-{n}", "email": f"anna{n}@example.se"},
            )
        )
    return people


def test_a_swedish_marketer_sees_no_english(
    swedish_user: Any,  # first: the preference exists before the login copies it
    logged_in_page: Any,
    live_server: Any,
    local_kinesis: LocalKinesis,
    audience: list[Any],
) -> None:
    page = logged_in_page
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    allowed = {
        swedish_user.get_username(),
        STREAM,
        "arkiv",
        "Kampanjer",
        "Nyhetsbrevsprenumeranter",
        "Lojala kunder",
        "Välkomstresan",
        "us-east-1",
        # Data-usage catalogue rows seeded in the database (governance), like user data.
        "Export to third party",
        "Contract: no export to third party",
        "Sensitive data never goes to third parties",
        "· Export to third party på",
    }
    leftovers: dict[str, list[str]] = {}

    # The saved language wins over the browser's English: the catalog is Swedish.
    page.goto(f"{live_server.url}/catalog/")
    expect(page.get_by_role("heading", name="Katalog")).to_be_visible()
    check_page(page, "catalog", allowed, leftovers)

    # The connect wizard: authenticate, details, the destination's page.
    page.get_by_role("link", name="Konfigurera").first.click()
    expect(page.get_by_role("heading", name="Autentisera")).to_be_visible()
    check_page(page, "connect-authenticate", allowed, leftovers)
    page.locator("#id_access_key_id").fill(ANY_KEY[0])
    page.locator("#id_secret_access_key").fill(ANY_KEY[1])
    page.get_by_role("button", name="Anslut", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Ansluten.")).to_contain_text(
        "2 dataströmmar hittades"
    )
    check_page(page, "connect-connected", allowed, leftovers)
    page.get_by_role("link", name="Fortsätt", exact=True).click()
    expect(page.get_by_role("heading", name="Måluppgifter")).to_be_visible()
    page.get_by_role("button", name=STREAM).click()
    page.locator("#id_name").fill("Kampanjer")
    check_page(page, "connect-details", allowed, leftovers)
    page.get_by_role("button", name="Spara och kontrollera behörigheter").click()
    expect(page.get_by_role("heading", name="Kampanjer")).to_be_visible()
    expect(page.locator("#check-panel .check").first).to_be_visible()
    check_page(page, "destination", allowed, leftovers)

    # The activation wizard: destination, segments, mapping, review.
    page.goto(f"{live_server.url}/dataflows/wizard/new/")
    page.get_by_label(re.compile("Kampanjer")).check()
    page.get_by_role("button", name="Nästa: välj segment").click()
    expect(page.get_by_role("heading", name="Välj segment")).to_be_visible()
    page.wait_for_load_state("networkidle")  # htmx listening before the ticks
    page.get_by_label("Nyhetsbrevsprenumeranter").check()
    page.get_by_text("Valda (1)").wait_for()
    page.get_by_label("Lojala kunder").check()
    page.get_by_text("Valda (2)").wait_for()
    check_page(page, "wizard-segments", allowed, leftovers)
    page.get_by_role("button", name="Nästa: mappning").click()
    expect(page.get_by_role("heading", name="Profilschema")).to_be_visible()
    check_page(page, "wizard-mapping", allowed, leftovers)
    page.get_by_role("button", name="Nästa: granska").click()
    expect(page.get_by_role("heading", name="Exempelpost")).to_be_visible()
    page.get_by_text("Provisionerad, 2 shards").wait_for()
    # Swedish number formatting: a non-breaking space groups thousands.
    page.get_by_text("2\u00a0000 poster/s och 2 MiB/s").wait_for()
    check_page(page, "wizard-review", allowed, leftovers)
    page.get_by_label("Dataflödets namn").fill("Välkomstresan")
    page.get_by_role("button", name="Slutför och slå på").click()

    # The dataflow page, both tabs.
    dataflow = Dataflow.objects.get(name="Välkomstresan")
    page.wait_for_url(f"**/dataflows/{dataflow.pk}/")
    expect(page.get_by_role("heading", name="Välkomstresan")).to_be_visible()
    check_page(page, "dataflow-runs", allowed, leftovers)
    page.get_by_role("link", name="Aktiveringsdata").click()
    expect(page.get_by_role("heading", name="Mappning")).to_be_visible()
    check_page(page, "dataflow-activation", allowed, leftovers)

    assert not leftovers, "English left on Swedish pages:\n" + "\n".join(
        f"{name}: {hit}" for name, hits in leftovers.items() for hit in hits
    )
