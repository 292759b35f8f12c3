"""The partition key is the profile id or an identity the dataflow exports (hashed when
that namespace is exported hashed): never the raw value of an identity left out."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from activation import services
from activation.export.records import ExportContext, ProfileSnapshot, build_record
from activation.services import AttributeSpec, IdentitySpec
from tests.activation.wizard.test_views import draft_with_segments, mapping_post

pytestmark = pytest.mark.django_db

NAME = [AttributeSpec("person.name.firstName")]


@pytest.mark.parametrize(
    ("identities", "key", "allowed"),
    [
        ([IdentitySpec("ecid")], "email", False),
        ([IdentitySpec("ecid"), IdentitySpec("email", hashed=True)], "email", True),
        ([IdentitySpec("ecid")], "ecid", True),
        ([IdentitySpec("ecid")], "profile_id", True),
        ([], "email", True),  # no selection exports every namespace as is
    ],
)
def test_the_mapping_accepts_only_an_exported_identity_or_the_profile_id(
    user: Any, connection: Any, two_segments, identities, key, allowed
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))

    def save() -> None:
        services.dataflow_set_mapping(
            dataflow=draft, attributes=NAME, identities=identities, partition_key_source=key
        )

    if allowed:
        save()
        return
    with pytest.raises(ValidationError) as caught:
        save()
    assert caught.value.messages == [
        "The partition key “email” is an identity this dataflow does not export, so its "
        "value would leave in the stream unmapped: choose the profile id or an exported "
        "identity (ecid)."
    ]


def test_the_wizard_shows_the_error_at_the_partition_key(
    logged_in_client: Any, user: Any, connection: Any, two_segments
) -> None:
    draft = draft_with_segments(user, connection, list(two_segments))

    response = logged_in_client.post(
        reverse("activation:wizard_mapping", args=[draft.pk]),
        mapping_post(identity=["email"], partition_key="ecid"),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in page.split('id="partition-key"')[1].split(">")[0]
    assert 'id="partition-key-error"' in page
    assert "“ecid” is an identity this dataflow does not export" in page
    assert not draft.identity_selections.exists()  # nothing saved


def context(namespaces: tuple[tuple[str, bool], ...] | None, key: str) -> ExportContext:
    return ExportContext(
        dataflow_id=1,
        attributes=(),
        namespaces=namespaces,
        segments={},
        partition_key_source=key,
    )


SNAPSHOT = ProfileSnapshot(42, {}, [("ecid", "E-1"), ("email", "Ann@Example.com")], memberships={})


@pytest.mark.parametrize(
    ("namespaces", "expected"),
    [
        ((("email", True),), hashlib.sha256(b"ann@example.com").hexdigest()),
        ((("email", False),), "Ann@Example.com"),
        (None, "Ann@Example.com"),
        # An older dataflow keyed by an identity it does not export: the profile id.
        ((("ecid", False),), "42"),
    ],
)
def test_the_builder_never_sends_an_identity_as_key_that_the_record_does_not_carry(
    namespaces, expected
) -> None:
    record = build_record(context(namespaces, "email"), SNAPSHOT, record_id="r")

    assert record.partition_key == expected
    assert b"Ann@Example.com" not in record.data or expected == "Ann@Example.com"
