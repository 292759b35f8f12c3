"""Every page of the product (Django admin aside) has no serious or critical axe-core
violation, with real data on it, in the real browser."""

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.services import alert_raise, dataflow_error_key
from destinations.kinesis import aws as kinesis
from destinations.models import ConnectionDraft
from profiles.segments import segment_create
from tests.factories import (
    BackfillFactory,
    ConnectionFactory,
    DataflowFactory,
    DataflowSegmentFactory,
    DeliveryLogFactory,
    ExportRunFactory,
    IdentityFactory,
    RunIssueFactory,
)
from tests.support.a11y import blocking_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def product_pages(user: Any) -> dict[str, str]:
    """One URL of each page of the product, with data on it."""
    connection = ConnectionFactory(
        owner=user,
        name="Acme stream",
        stream_name="acme-events",
        health="healthy",
        health_checked_at=timezone.now(),
    )
    dataflow = DataflowFactory(
        connection=connection,
        name="Newsletter to Kinesis",
        last_activity_at=timezone.now(),
        failure_count=1,
        status_message="Kinesis answered slowly; retrying.",
    )
    mapped = DataflowSegmentFactory(dataflow=dataflow, segment__name="Newsletter subscribers")
    dataflow.attribute_mappings.create(source_path="person.name.firstName")
    dataflow.identity_selections.create(namespace="email", hashed=True)
    BackfillFactory(
        dataflow=dataflow,
        segment=mapped.segment,
        total=400,
        processed=120,
        started_at=timezone.now() - dt.timedelta(seconds=30),
        status="running",
    )
    broken = DataflowFactory(
        connection=connection,
        name="Broken flow",
        status="error",
        status_message="The stream acme-events was deleted.",
    )
    jane = IdentityFactory(namespace="email", value="jane@example.com")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    run = ExportRunFactory(
        dataflow=dataflow,
        window_start=hour,
        profiles_received=50,
        identities_activated=47,
        identities_excluded=2,
        identities_failed=1,
        status="partial",
    )
    RunIssueFactory(
        run=run,
        profile_id=jane.profile_id,
        identity="email:jane@example.com",
        kind="excluded",
        error_code="MissingPartitionKey",
        reason="The profile has no crmid identity to use as the partition key.",
    )
    DeliveryLogFactory(
        dataflow=dataflow,
        profile_id=jane.profile_id,
        reason="backfill",
        sent_at=hour,
        shard_id="shardId-000000000001",
        sequence_number="4965",
    )
    alert_raise(
        kind="dataflow_error",
        title="Dataflow “Broken flow” stopped",
        message="The stream was deleted.",
        dedupe_key=dataflow_error_key(dataflow.pk),
        dataflow=dataflow,
    )
    segment = segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    draft = ConnectionDraft(
        owner=user,
        stream_names=["acme-events", "orders"],
        region="us-east-1",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        verified_at=timezone.now(),
    )
    draft.set_secret("secret")
    draft.save()
    return {
        "catalog": reverse("catalog"),
        "destinations": reverse("destinations:list"),
        "connection": reverse("destinations:detail", args=[connection.pk]),
        "connection edit": reverse("destinations:edit", args=[connection.pk]),
        "connect step 1": reverse("destinations:connect"),
        "connect step 2": reverse("destinations:connect_details", args=[draft.pk]),
        "dataflows": reverse("activation:dataflow_list"),
        "dataflow runs": reverse("activation:dataflow_detail", args=[dataflow.pk]),
        "dataflow activation": reverse("activation:dataflow_detail", args=[dataflow.pk])
        + "?tab=activation",
        "dataflow disable": reverse("activation:dataflow_disable", args=[dataflow.pk]),
        "run issues": reverse("activation:run_detail", args=[dataflow.pk, run.pk]),
        "run records": reverse("activation:run_detail", args=[dataflow.pk, run.pk])
        + "?view=deliveries",
        "delivery lookup": reverse("activation:delivery_lookup")
        + "?identity=email:jane@example.com",
        "stream inspector": reverse("activation:stream_inspector", args=[connection.pk]),
        "stream inspector read": reverse("activation:stream_inspector", args=[connection.pk])
        + "?read=1",
        "delivery lookup error": reverse("activation:delivery_lookup") + "?identity=nonsense",
        "run search, nothing found": reverse("activation:run_detail", args=[dataflow.pk, run.pk])
        + "?q=nobody",
        "dataflow delete": reverse("activation:dataflow_delete", args=[broken.pk]),
        "dataflow in error": reverse("activation:dataflow_detail", args=[broken.pk]),
        "wizard drafts": reverse("activation:wizard_drafts"),
        "profiles": reverse("profiles:profile_list"),
        "profile": reverse("profiles:profile_detail", args=[jane.profile_id]),
        "segments": reverse("profiles:segment_list"),
        "segment new": reverse("profiles:segment_create"),
        "segment edit": reverse("profiles:segment_edit", args=[segment.pk]),
        "alerts": reverse("alerts:list"),
        "audit log": reverse("audit:list"),
        "api docs": reverse("api:openapi-view"),
        "login": reverse("login"),
    }


# Swagger UI (the API docs page) nests its copy button in each operation's summary
# button: its own markup, which we cannot change; its colours we do fix (api-docs.css).
SKIP_RULES = {"api docs": ("nested-interactive",)}


def test_every_product_page_has_no_serious_violation(logged_in_page, live_server, user, settings):
    # The connection page checks permissions on load: fail fast, no AWS here.
    settings.KINESIS_MAX_ATTEMPTS = 1
    settings.KINESIS_CONNECT_TIMEOUT = 1
    kinesis.clear_client_cache()
    page = logged_in_page
    found = {}
    for name, url in product_pages(user).items():
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        if name == "dataflows":
            page.locator(".notifications summary").click()  # the open alerts menu too
        violations = blocking_violations(page, skip_rules=SKIP_RULES.get(name, ()))
        if violations:
            found[name] = violations
    assert not found, "\n".join(f"{name}:\n  " + "\n  ".join(v) for name, v in found.items())
