"""An admin labels a field on the Data governance page; a dataflow mapping it shows the
violation with its chain at review and Finish is refused; unmapping it, Finish works."""

from typing import Any

import pytest
from django.core.cache import cache

from activation import services
from activation.models import Dataflow, DataflowStatus
from activation.services import AttributeSpec, IdentitySpec
from governance.seed import seed_core_now
from tests.activation.wizard.conftest import member
from tests.factories import ConnectionFactory, SegmentFactory
from tests.governance.conftest import declare

pytestmark = pytest.mark.browser


def test_a_labelled_field_blocks_finish_until_it_is_unmapped(
    logged_in_page: Any, live_server: Any, user: Any
) -> None:
    seed_core_now()  # the core catalogue (a transactional test flushes the seeded rows)
    cache.clear()  # the schema sample is cached for a minute
    user.is_staff = True  # an Admin labels fields
    user.save()
    segment = SegmentFactory(name="Over 40")
    member(
        segment,
        attributes={"person": {"name": {"firstName": "Ann"}, "birthDate": "1980-01-01"}},
        identities={"ecid": "ECID-1"},
    )
    connection = ConnectionFactory(owner=user, name="Partner stream")
    declare(connection, "export_to_third_party")
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[segment.pk])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("person.name.firstName"), AttributeSpec("person.birthDate")],
        identities=[IdentitySpec("ecid")],
        partition_key_source="ecid",
    )
    page = logged_in_page

    # The Data governance page lists the sample's paths; label the birth date sensitive.
    page.goto(f"{live_server.url}/governance/")
    page.locator('tr[data-path="person.birthDate"]').get_by_role("link", name="Labels").click()
    page.get_by_label("S3 · Sensitive personal data").check()
    page.get_by_role("button", name="Save labels").click()
    page.get_by_text("Saved the labels of person.birthDate.").wait_for()
    assert "S3" in page.locator('tr[data-path="person.birthDate"]').inner_text()

    # The review shows the violation with its chain and how to fix it.
    page.goto(f"{live_server.url}/dataflows/wizard/{draft.pk}/review/")
    violations = page.locator("#policy-violations")
    violations.wait_for()
    chain = violations.locator(".violation-chain").first.inner_text()
    assert "attribute person.birthDate → S3 Sensitive personal data" in chain
    assert "→ policy “Sensitive data never goes to third parties” → Export to third party" in chain
    assert "Fix: Unmap person.birthDate." in chain

    # Finish is refused.
    page.get_by_label("Dataflow name").fill("Partner feed")
    page.get_by_role("button", name="Finish and enable").click()
    page.locator("#finish-errors").get_by_text("Activation refused").wait_for()
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.DRAFT

    # Unmap it in the mapping step: the review is clean and Finish works.
    page.get_by_role("link", name="Change mapping").click()
    page.get_by_role("button", name="Remove person.birthDate").click()
    page.get_by_role("button", name="Remove person.birthDate").wait_for(state="detached")
    page.get_by_role("button", name="Next: review").click()
    page.get_by_role("heading", name="Sample record").wait_for()
    assert page.locator("#policy-violations").count() == 0
    page.get_by_label("Dataflow name").fill("Partner feed")
    page.get_by_role("button", name="Finish and enable").click()
    page.get_by_text("“Partner feed” is enabled").wait_for()
    assert Dataflow.objects.get(pk=draft.pk).status == DataflowStatus.ENABLED
