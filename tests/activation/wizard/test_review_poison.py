"""The review's sample of a profile the exporter would exclude says so (never a 500)."""

from typing import Any

import pytest
from django.db import connection as db
from django.urls import reverse

from activation import services
from activation.services import AttributeSpec, IdentitySpec
from tests.activation.wizard.conftest import member
from tests.activation.wizard.test_views import draft_with_segments
from tests.factories import SegmentFactory
from tests.support.world import store_raw_attributes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(db.vendor != "sqlite", reason="only SQLite holds such text"),
]


def test_the_review_sample_of_an_unbuildable_profile_says_why_it_is_excluded(
    logged_in_client: Any, user: Any, connection: Any
) -> None:
    segment = SegmentFactory()
    profile = member(segment, identities={"email": "legacy@example.com"})
    store_raw_attributes(profile.pk, '{"person": {"age": "bad\\ud800"}}')
    draft = draft_with_segments(user, connection, [segment])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("person.age")],
        identities=[IdentitySpec("email")],
        partition_key_source="email",
    )

    response = logged_in_client.get(reverse("activation:wizard_review", args=[draft.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Profile {profile.pk} is excluded: The record cannot be built: person.age" in page
