"""Dataflows in Django admin: enable, disable, backfill; runs and deliveries read-only."""

import pytest
from django.urls import reverse

from activation.models import Backfill, Dataflow
from tests.audit.trail import described_changes
from tests.factories import (
    DataflowFactory,
    DataflowSegmentFactory,
    DeliveryLogFactory,
    ExportRunFactory,
    RunIssueFactory,
)

pytestmark = pytest.mark.django_db


def action(client, name, *dataflows):
    return client.post(
        reverse("admin:activation_dataflow_changelist"),
        {"action": name, "_selected_action": [str(d.pk) for d in dataflows]},
        follow=True,
    ).content.decode()


def test_disable_and_enable(admin_client, admin_user):
    dataflow = DataflowFactory(status="enabled")
    assert "Disabled 1 dataflow(s)." in action(admin_client, "disable_dataflows", dataflow)
    dataflow.refresh_from_db()
    assert dataflow.status == "disabled"
    assert "Enabled 1 dataflow(s)." in action(admin_client, "enable_dataflows", dataflow)
    dataflow.refresh_from_db()
    assert dataflow.status == "enabled"
    changes = described_changes(dataflow).filter(actor=admin_user)
    assert [c.summary for c in changes.order_by("created_at")] == ["Disabled.", "Enabled."]


def test_a_draft_cannot_be_enabled(admin_client):
    draft = DataflowFactory(status="draft")
    html = action(admin_client, "enable_dataflows", draft)
    assert "Finish the activation wizard" in html
    assert Dataflow.objects.get(pk=draft.pk).status == "draft"


def test_backfill_exports_every_mapped_segment_again(admin_client):
    mapped = DataflowSegmentFactory()
    html = action(admin_client, "backfill_dataflows", mapped.dataflow)
    assert "Started a backfill of 1 dataflow(s)." in html
    backfill = Backfill.objects.get(dataflow=mapped.dataflow)
    assert (backfill.segment_id, backfill.reason) == (mapped.segment_id, "replay")


def test_backfill_without_segments_says_why(admin_client):
    html = action(admin_client, "backfill_dataflows", DataflowFactory())
    assert "no segment is mapped" in html


def test_status_changes_only_through_the_actions(admin_client):
    dataflow = DataflowFactory(status="enabled")
    html = admin_client.get(
        reverse("admin:activation_dataflow_change", args=[dataflow.pk])
    ).content.decode()
    assert 'name="status"' not in html
    assert 'name="name"' in html
    assert admin_client.get(reverse("admin:activation_dataflow_add")).status_code == 403


@pytest.mark.parametrize(
    ("factory", "model"),
    [
        (ExportRunFactory, "exportrun"),
        (RunIssueFactory, "runissue"),
        (DeliveryLogFactory, "deliverylog"),
    ],
)
def test_runs_and_deliveries_are_read_only(admin_client, factory, model):
    row = factory()
    changelist = admin_client.get(reverse(f"admin:activation_{model}_changelist"))
    assert changelist.status_code == 200
    page = admin_client.get(reverse(f"admin:activation_{model}_change", args=[row.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get(reverse(f"admin:activation_{model}_add")).status_code == 403
    delete = admin_client.post(reverse(f"admin:activation_{model}_delete", args=[row.pk]))
    assert delete.status_code == 403


ENGINE = {
    "cursor_txid": "999",
    "cursor_change_id": "999",
    "lock_token": "stolen",
    "status": "enabled",
    "partition_key_source": "email",
    "failure_count": "7",
}


def test_the_change_page_leads_with_what_an_admin_needs(admin_client):
    mapped = DataflowSegmentFactory(segment__name="Loyal buyers")
    dataflow = mapped.dataflow
    dataflow.status_message = "Paused for maintenance."
    dataflow.save()
    html = admin_client.get(
        reverse("admin:activation_dataflow_change", args=[dataflow.pk])
    ).content.decode()
    assert "Loyal buyers" in html and "Paused for maintenance." in html
    assert "Health" in html and "no run yet" in html
    internals = html.index("Export engine internals")
    assert html.index("Loyal buyers") < internals
    assert html.index("Lock token") > internals
    # a collapsed <details> section: its heading is the <summary>
    assert html[:internals].rstrip().endswith('class="fieldset-heading">')
    assert "<details><summary>" in html[internals - 300 : internals]
    for field in ENGINE:
        assert f'name="{field}"' not in html


def test_a_post_changes_the_name_and_nothing_else(admin_client):
    dataflow = DataflowFactory(status="disabled", partition_key_source="ecid")
    response = admin_client.post(
        reverse("admin:activation_dataflow_change", args=[dataflow.pk]),
        {
            "name": "Renamed",
            **ENGINE,
            **{f"{prefix}-TOTAL_FORMS": "0" for prefix in INLINE_PREFIXES},
            **{f"{prefix}-INITIAL_FORMS": "0" for prefix in INLINE_PREFIXES},
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    dataflow.refresh_from_db()
    assert dataflow.name == "Renamed"
    assert (dataflow.status, dataflow.partition_key_source, dataflow.lock_token) == (
        "disabled",
        "ecid",
        "",
    )
    assert (dataflow.cursor_txid, dataflow.failure_count) == (0, 0)


INLINE_PREFIXES = ["mapped_segments", "attribute_mappings", "identity_selections"]


def test_deleting_a_segment_in_admin_tells_its_dataflows(admin_client):
    mapped = DataflowSegmentFactory(segment__name="Gone")
    admin_client.post(
        reverse("admin:profiles_segment_delete", args=[mapped.segment_id]), {"post": "yes"}
    )
    change = described_changes(mapped.dataflow).get()
    assert change.summary == "Segment “Gone” was deleted; this dataflow no longer exports it."
