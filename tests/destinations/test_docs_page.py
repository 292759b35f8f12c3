"""The catalog card's "Documentation" opens our own page about the destination."""

from __future__ import annotations

import html as html_lib
import json
from typing import Any

from django.urls import reverse

from destinations.kinesis.policy import minimal_policy


def test_the_catalog_card_links_to_our_own_page(logged_in_client: Any) -> None:
    catalog = logged_in_client.get(reverse("catalog")).content.decode()
    docs = reverse("destinations:docs", args=["kinesis"])
    assert f'href="{docs}">Documentation</a>' in catalog
    assert "docs.aws.amazon.com" not in catalog


def test_the_page_covers_permissions_record_rules_monitoring_and_limits(
    logged_in_client: Any,
) -> None:
    page = logged_in_client.get(reverse("destinations:docs", args=["kinesis"])).content.decode()
    for heading in (
        "Permissions and the IAM policy",
        "The record format",
        "When a profile is exported",
        "Monitoring and alerts",
        "Limits",
    ):
        assert f">{heading}</h2>" in page
    # The policy is the product's own least-privilege policy, not a copy that can drift.
    shown = page.split('<pre id="docs-policy">')[1].split("</pre>")[0]
    expected = minimal_policy(
        region="eu-north-1", account_id="123456789012", stream_name="your-stream"
    )
    assert json.loads(html_lib.unescape(shown)) == expected
    assert "at most 1 MiB" in page and "500 at a time" in page and "more than 1 %" in page
    record = json.loads(html_lib.unescape(page.split("<pre>")[1].split("</pre>")[0]))
    assert set(record) == {"_id", "person", "personalEmail", "segmentMembership", "identityMap"}


def test_an_unknown_destination_is_a_404(logged_in_client: Any) -> None:
    assert logged_in_client.get(reverse("destinations:docs", args=["pubsub"])).status_code == 404


def test_the_api_catalog_points_to_the_same_page(logged_in_client: Any) -> None:
    from destinations.catalog import KINESIS

    assert KINESIS.docs_url == reverse("destinations:docs", args=["kinesis"])
