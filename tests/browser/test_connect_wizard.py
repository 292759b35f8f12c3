"""A marketer connects a Kinesis stream through the wizard, against a local moto
server that enforces IAM (so a wrong secret is refused for real)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from destinations.kinesis import aws as kinesis
from destinations.models import Connection
from tests.support.local_kinesis import LocalKinesis

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STREAM = "web-orders"


@pytest.fixture
def aws(settings: Any) -> Iterator[LocalKinesis]:
    """A moto server with streams, an IAM user's key, and IAM authentication on."""
    server = LocalKinesis()
    server.start()
    try:
        server.reset()
        for name in ("clickstream", STREAM, "zz-archive"):
            server.create_stream(name, shards=2 if name == STREAM else 1)
        settings.KINESIS_ENDPOINT_URL = server.url
        settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = server.url
        settings.KINESIS_MAX_ATTEMPTS = 1
        kinesis.clear_client_cache()
        yield server
    finally:
        server.set_iam_auth(enabled=False)
        server.stop()
        kinesis.clear_client_cache()


def test_a_marketer_connects_a_stream(logged_in_page: Any, live_server: Any, aws: Any) -> None:
    key_id, secret = aws.create_user_key("streamline-writer")
    aws.set_iam_auth(enabled=True)
    page = logged_in_page

    # Catalog → Set up
    page.get_by_role("listitem").filter(has_text="Amazon Kinesis").get_by_role(
        "link", name="Set up"
    ).click()
    expect(page.get_by_role("heading", name="Authenticate")).to_be_visible()
    expect(page.locator(".steps [aria-current=step]")).to_have_text("Authenticate")
    expect(page.get_by_label("Region")).to_have_value("us-east-1")
    # The role fields stay hidden while access keys are chosen.
    expect(page.get_by_label("Role ARN")).to_be_hidden()

    # Step 1 with a wrong secret: the exact problem, the secret not kept.
    page.get_by_label("Access key ID").fill(key_id)
    page.get_by_label("Secret access key").fill("not-the-right-secret")
    page.get_by_role("button", name="Connect").click()
    error = page.locator("#id_secret_access_key_error")
    expect(error).to_contain_text("The secret access key does not match access key")
    expect(error).to_contain_text(key_id[:4] + "…" + key_id[-4:])
    expect(page.get_by_label("Secret access key")).to_have_value("")
    expect(page.get_by_label("Access key ID")).to_have_value(key_id)
    assert "not-the-right-secret" not in page.content()

    # Step 1 again with the right secret: connected, the streams listed.
    page.get_by_label("Secret access key").fill(secret)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").filter(has_text="Connected.")).to_contain_text(
        "3 streams found"
    )
    preview = page.get_by_role("list", name="Streams in us-east-1")
    expect(preview).to_contain_text(STREAM)
    assert secret not in page.content()
    page.get_by_role("link", name="Continue").click()

    # Step 2: search the streams, pick one, name it, set the toggles.
    expect(page.get_by_role("heading", name="Destination details")).to_be_visible()
    expect(page.locator(".steps [aria-current=step]")).to_have_text("Destination details")
    page.get_by_label("Search your streams").fill("orders")
    expect(page.locator(".stream-option")).to_have_count(1)
    page.get_by_role("button", name=STREAM).click()
    expect(page.get_by_label("Stream", exact=True)).to_have_value(STREAM)
    page.get_by_label("Name", exact=True).fill("Web orders")
    page.get_by_label("Description").fill("Buyers likely to convert")
    page.get_by_label("Include Segment Names").check()
    page.get_by_role("button", name="Save and check permissions").click()

    # The permission check, item by item.
    expect(page.get_by_role("heading", name="Web orders")).to_be_visible()
    checks = page.locator("#check-panel .check")
    expect(checks.filter(has_text="kinesis:ListStreams")).to_contain_text("Pass")
    expect(checks.filter(has_text=f"Stream “{STREAM}” exists")).to_contain_text("Pass")
    expect(checks.filter(has_text="Stream is ACTIVE")).to_contain_text("Pass")
    expect(checks.filter(has_text="Capacity")).to_contain_text("Provisioned, 2 open shard(s)")
    expect(checks.filter(has_text="kinesis:PutRecords")).to_contain_text("Not verified yet")
    expect(page.locator("#health-badge")).to_have_text("Healthy")

    # The IAM policy, filled in and ready to copy.
    policy = json.loads(page.locator("#iam-policy").inner_text())
    assert policy["Statement"][1]["Resource"] == [
        f"arn:aws:kinesis:us-east-1:123456789012:stream/{STREAM}"
    ]
    expect(page.get_by_role("button", name="Copy policy")).to_have_attribute(
        "data-copy-target", "#iam-policy"
    )

    # An explicit test record, with each call exports need: what each one verified.
    assert aws.read_stream(STREAM) == []
    page.get_by_role("button", name="Send a test record").click()
    panel = page.locator("#test-record-panel")
    results = {}
    for action in ("kinesis:PutRecord", "kinesis:PutRecords"):
        results[action] = panel.locator(f".alert-success[data-action='{action}']")
        expect(results[action]).to_contain_text(
            re.compile(action + r": verified\. .*shard shardId-\d+ with sequence number \d+")
        )
        label = page.locator("strong", has_text=re.compile(f"^{action}$"))
        expect(checks.filter(has=label)).to_contain_text("Pass")
    records = aws.read_stream(STREAM)
    assert [r.document["call"] for r in records] == ["PutRecord", "PutRecords"]
    assert all(r.document["streamlineTestRecord"] is True for r in records)
    assert records[0].sequence_number == int(
        results["kinesis:PutRecord"].locator(".seq").inner_text()
    )

    # The destinations page: health and dataflow count.
    page.get_by_role("link", name="Destinations").first.click()
    row = page.get_by_role("row").filter(has_text="Web orders")
    expect(row).to_contain_text("Healthy")
    expect(row.get_by_role("cell").nth(5)).to_have_text("0")
    assert secret not in page.content()

    connection = Connection.objects.get(name="Web orders")
    assert connection.get_secret() == secret
    assert connection.include_segment_names and not connection.include_segment_timestamps


def test_a_marketer_rotates_the_key(
    logged_in_page: Any, live_server: Any, aws: Any, user: Any
) -> None:
    old_id, old_secret = aws.create_user_key("rotating-writer")
    connection = Connection(
        owner=user, name="Rotating", stream_name=STREAM, region="us-east-1", access_key_id=old_id
    )
    connection.set_secret(old_secret)
    connection.save()
    new_id, new_secret = aws.create_user_key("rotating-writer")
    aws.set_iam_auth(enabled=True)
    page = logged_in_page
    page.goto(f"{live_server.url}/destinations/{connection.pk}/edit/")
    expect(page.get_by_label("Secret access key")).to_have_value("")
    page.get_by_label("New access key ID").fill(new_id)
    page.get_by_label("Secret access key").fill("wrong-" + new_secret[:10])
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_secret_access_key_error")).to_contain_text("does not match")
    page.get_by_label("Secret access key").fill(new_secret)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="New credentials verified")).to_be_visible()
    expect(page.locator("#check-panel .check").first).to_contain_text("Pass")
    connection.refresh_from_db()
    assert (connection.access_key_id, connection.get_secret()) == (new_id, new_secret)


def visible_mentions(page: Any, pattern: str) -> list[str]:
    found = page.get_by_text(re.compile(pattern, re.IGNORECASE))
    return [found.nth(i).inner_text() for i in range(found.count()) if found.nth(i).is_visible()]


def test_an_unfinished_connection_is_resumed_and_back_after_saving_finds_it(
    logged_in_page: Any, live_server: Any, aws: Any
) -> None:
    page = logged_in_page
    page.goto(f"{live_server.url}/destinations/new/kinesis/")

    # IAM role: a fixed, read-only external id with a copy button; no word of a secret key.
    page.get_by_label("IAM role").check()
    external_id = page.get_by_label("External ID")
    expect(external_id).to_have_attribute("readonly", "")
    value = external_id.input_value()
    assert value.startswith("streamline-")
    expect(page.get_by_role("button", name="Copy external ID")).to_be_visible()
    assert visible_mentions(page, "secret (access )?key") == []
    page.reload()
    page.get_by_label("IAM role").check()
    expect(page.get_by_label("External ID")).to_have_value(value)  # not a new one per load
    page.get_by_text("Show the role's trust policy").click()
    expect(page.locator("#trust-policy")).to_contain_text(value)

    # Access keys: connected, then the marketer leaves before saving.
    page.get_by_label("Access keys").check()
    assert visible_mentions(page, "secret access key")
    page.get_by_label("Access key ID").fill("AKIAIOSFODNN7EXAMPLE")
    page.get_by_label("Secret access key").fill("any-secret-the-local-endpoint-takes")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").filter(has_text="Connected.")).to_be_visible()
    for path in ("/catalog/", "/destinations/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name="Unfinished connection")).to_be_visible()

    # Resume from the destinations page, save, then the browser's Back button.
    page.get_by_role("link", name="Continue setting up").click()
    expect(page.get_by_role("heading", name="Destination details")).to_be_visible()
    page.get_by_label("Stream", exact=True).fill(STREAM)
    page.get_by_label("Name", exact=True).fill("Resumed orders")
    page.get_by_role("button", name="Save and check permissions").click()
    expect(page.get_by_role("heading", name="Resumed orders")).to_be_visible()
    connection = Connection.objects.get(name="Resumed orders")
    expect(page.locator("#check-panel .check").first).to_be_visible()
    # The finished check is not under a lingering "Checking permissions…" note.
    assert visible_mentions(page, "checking permissions") == []
    page.go_back()
    expect(page.get_by_role("heading", name="Resumed orders")).to_be_visible()
    assert page.url.endswith(f"/destinations/{connection.pk}/")
    expect(page.get_by_text("is already saved")).to_be_visible()
    page.goto(f"{live_server.url}/destinations/")
    expect(page.get_by_role("heading", name="Unfinished connection")).to_have_count(0)

    # Another unfinished one, discarded from the catalog.
    page.goto(f"{live_server.url}/destinations/new/kinesis/")
    page.get_by_label("Access key ID").fill("AKIAIOSFODNN7EXAMPLE")
    page.get_by_label("Secret access key").fill("any-secret-the-local-endpoint-takes")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").filter(has_text="Connected.")).to_be_visible()
    page.goto(f"{live_server.url}/catalog/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_text("Discarded the unfinished connection")).to_be_visible()
    expect(page.get_by_role("heading", name="Unfinished connection")).to_have_count(0)
