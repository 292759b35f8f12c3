"""Fixtures for the activation wizard: a connection, segments with members."""

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache

from profiles.models import Identity, MembershipStatus, SegmentMembership
from tests.factories import ConnectionFactory, ProfileFactory, SegmentFactory

QUALIFIED_AT = dt.datetime(2024, 5, 25, 21, 24, 39, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fresh_schema_cache() -> Any:
    # The schema picker caches its sample for a minute; tests must not share it.
    cache.clear()
    yield
    cache.clear()


def member(
    segment: Any,
    *,
    attributes: dict | None = None,
    identities: dict[str, str] | None = None,
    status: str = MembershipStatus.REALIZED,
    profile: Any = None,
) -> Any:
    """A profile in `segment` with the given identities (namespace -> value)."""
    profile = profile or (
        ProfileFactory(attributes=attributes) if attributes is not None else ProfileFactory()
    )
    for namespace, value in (identities or {}).items():
        Identity.objects.create(profile=profile, namespace=namespace, value=value)
    SegmentMembership.objects.create(
        profile=profile, segment=segment, status=status, last_qualification_time=QUALIFIED_AT
    )
    return profile


@pytest.fixture
def connection(user: Any) -> Any:
    return ConnectionFactory(owner=user, name="Marketing stream", stream_name="demo-stream")


@pytest.fixture
def two_segments(db: Any) -> tuple[Any, Any]:
    """ "Newsletter" with 3 members and "VIP" with 2 (one shared), all with ecid + email."""
    newsletter = SegmentFactory(name="Newsletter subscribers", description="Opted in")
    vip = SegmentFactory(name="VIP customers", description="Spent over 1000")
    for n in range(3):
        member(newsletter, identities={"ecid": f"ecid-{n}", "email": f"Person{n}@Example.com"})
    shared = SegmentMembership.objects.filter(segment=newsletter).first().profile
    member(vip, profile=shared)
    member(vip, identities={"ecid": "ecid-9", "email": "vip@example.com"})
    return newsletter, vip
