"""The "created dataflow" entry lists what was activated, not only the status change."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from tests.factories import DataflowSegmentFactory, IdentityFactory

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_the_created_entry_lists_segments_attributes_identities_and_key(logged_in_client):
    mapped = DataflowSegmentFactory(
        segment__name="Loyal buyers", dataflow__name="Newsletter", dataflow__status="draft"
    )
    flow = mapped.dataflow
    flow.attribute_mappings.create(source_path="person.name.firstName", target_path="first")
    flow.identity_selections.create(namespace="email", hashed=True)
    flow.partition_key_source = "email"
    flow.status = "enabled"
    flow.save()
    entry = AuditEntry.objects.get(object_type="dataflow", object_id=flow.pk)
    assert entry.action == "created"
    html = logged_in_client.get(reverse("audit:list")).content.decode()
    section = html[html.index("audit-activated") :]
    for text in (
        "Loyal buyers",
        "person.name.firstName → first",
        "email (hashed)",
        "Partition key",
    ):
        assert text in section


def test_recent_changes_on_the_profile_page_name_segments_and_link_deliveries(
    logged_in_client,
):
    from profiles.models import ProfileChange
    from tests.factories import SegmentFactory

    segment = SegmentFactory(name="Gold")
    identity = IdentityFactory()
    ProfileChange.objects.create(
        profile_id=identity.profile_id,
        membership_changes={
            str(segment.pk): "realized",
            "0b0e0b0e-0000-4000-8000-000000000000": "exited",
        },
        source="segment",
    )
    html = logged_in_client.get(
        reverse("profiles:profile_detail", args=[identity.profile_id])
    ).content.decode()
    assert (
        f'realized <a href="{reverse("profiles:segment_edit", args=[segment.pk])}">Gold</a>' in html
    )
    assert 'exited <span class="muted">a deleted segment</span>' in html
    lookup = reverse("activation:delivery_lookup") + f"?profile={identity.profile_id}"
    assert lookup in html
