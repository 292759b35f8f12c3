"""One profile from a search text: ``namespace:value`` or a bare value in any namespace
(the delivery lookup's box; moved here from tests/monitoring with the code)."""

import pytest

from profiles import selectors as sel
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db


def test_profile_lookup_by_identity():
    identity = IdentityFactory(namespace="email", value="jane@example.com")
    IdentityFactory(profile=identity.profile, namespace="ecid", value="123")
    match = sel.profile_by_identity(text=" email:jane@example.com ")
    assert match.profile_id == identity.profile_id
    assert [i.namespace for i in match.identities] == ["ecid", "email"]
    assert sel.profile_by_identity(text="EMAIL:Jane@Example.com").profile_id == identity.profile_id


@pytest.mark.parametrize("text", [":x", "email:", "nobody@example.com"])
def test_profile_lookup_explains_what_it_tried(text):
    with pytest.raises(sel.IdentityLookupError, match=r"in any namespace.*namespace:value"):
        sel.profile_by_identity(text=text)


@pytest.mark.parametrize(
    ("text", "namespace"),
    [
        ("Jane@Example.com", "email"),
        ("+1 (555) 010-9999", "phone"),
        ("14575006536349286404619648085736425115", "ecid"),
        ("C-1001", "crmid"),
    ],
)
def test_a_bare_value_is_found_in_the_namespace_it_belongs_to(text, namespace):
    stored = {
        "email": "jane@example.com",
        "phone": "+15550109999",
        "ecid": "14575006536349286404619648085736425115",
        "crmid": "C-1001",
    }[namespace]
    identity = IdentityFactory(namespace=namespace, value=stored)
    assert sel.profile_by_identity(text=text).profile_id == identity.profile_id


def test_a_value_of_several_profiles_lists_the_candidates():
    as_crmid = IdentityFactory(namespace="crmid", value="14575006536349286404619648085736425115")
    as_ecid = IdentityFactory(namespace="ecid", value="14575006536349286404619648085736425115")
    with pytest.raises(sel.AmbiguousIdentity, match="identity of 2 profiles") as raised:
        sel.profile_by_identity(text="14575006536349286404619648085736425115")
    # the namespace the syntax fits (a long number: ecid) comes first
    assert [c.profile_id for c in raised.value.candidates] == [
        as_ecid.profile_id,
        as_crmid.profile_id,
    ]
    narrowed = sel.profile_by_identity(text="crmid:14575006536349286404619648085736425115")
    assert narrowed.profile_id == as_crmid.profile_id


def test_profile_lookup_says_when_nobody_has_the_identity():
    with pytest.raises(sel.IdentityLookupError, match="No profile has the identity crmid:C-9"):
        sel.profile_by_identity(text="crmid:C-9")
