"""Reads of the profile store: lookups, profile documents, segment sizes and counts."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from core.input_policy import parse_id
from profiles.attributes import document_of, leaf_items
from profiles.models import (
    BUILTIN_NAMESPACES,
    Identity,
    IdentityNamespace,
    MembershipStatus,
    Profile,
    ProfileChange,
    Segment,
    SegmentMembership,
)
from profiles.records import normalize_identity
from profiles.rules import RuleMatches, matcher, supports_sql

LIVE_STATUSES = [MembershipStatus.REALIZED, MembershipStatus.EXISTING]
COUNT_CHUNK = 5000
# The profile page shows attributes and a change's paths in pages, so a profile of
# any size renders in constant time (tests/profiles/test_large_profiles.py).
ATTRIBUTES_PER_PAGE = 200
PATHS_PER_CHANGE = 50


def namespace_codes() -> set[str]:
    """Codes of every identity namespace: the builtin ones and those admins registered."""
    return set(BUILTIN_NAMESPACES) | set(IdentityNamespace.objects.values_list("code", flat=True))


def parse_identity_query(text: str) -> tuple[str, str] | None:
    """``namespace:value`` -> (namespace, normalized value); None when there is no colon."""
    namespace, sep, value = text.strip().partition(":")
    if not sep or not namespace or not value.strip():
        return None
    namespace = namespace.strip().lower()
    return namespace, normalize_identity(namespace, value)


def profile_by_identity(*, namespace: str, value: str) -> Profile | None:
    identity = (
        Identity.objects.select_related("profile")
        .filter(namespace=namespace, value=normalize_identity(namespace, value))
        .first()
    )
    return identity.profile if identity else None


def profiles_search(*, query: str) -> QuerySet[Profile]:
    """Profiles for the search box: ``namespace:value``, a bare identity value, or an id.

    Every lookup uses the (namespace, value) index, so search stays instant on
    millions of profiles; the newest profiles come first.
    """
    profiles = Profile.objects.prefetch_related("identities").order_by("-id")
    query = query.strip()
    if not query:
        return profiles
    codes = namespace_codes()
    parsed = parse_identity_query(query)
    if parsed and parsed[0] in codes:
        namespace, value = parsed
        return profiles.filter(identities__namespace=namespace, identities__value=value)
    matches = Q()
    for code in sorted(codes):
        value = normalize_identity(code, query)
        matches |= Q(identities__namespace=code, identities__value=value)
    if (profile_id := parse_id(query)) is not None:
        matches |= Q(pk=profile_id)
    return profiles.filter(matches).distinct()


def identity_map(profile: Profile) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = {}
    for identity in sorted(profile.identities.all(), key=lambda i: (i.namespace, i.id)):
        result.setdefault(identity.namespace, []).append({"id": identity.value})
    return result


def profile_document(profile: Profile) -> dict[str, Any]:
    """A profile as the API returns it."""
    memberships = SegmentMembership.objects.filter(profile=profile).order_by("segment_id")
    return {
        "id": profile.pk,
        "identityMap": identity_map(profile),
        "attributes": profile.attributes,
        "segmentMembership": {
            "ups": {
                str(m.segment_id): {
                    "status": m.status,
                    "lastQualificationTime": _zulu(m.last_qualification_time),
                }
                for m in memberships
            }
        },
        "createdAt": _zulu(profile.created_at),
        "updatedAt": _zulu(profile.updated_at),
    }


def _zulu(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class AttributesPage:
    """One page of a profile's attributes: the leaves shown, as a nested document."""

    document: dict
    number: int
    first: int  # 1-based position of the first leaf shown
    shown: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.first - 1 + self.shown < self.total

    @property
    def paged(self) -> bool:
        return self.total > ATTRIBUTES_PER_PAGE


def attributes_page(
    document: dict, *, page: Any, per_page: int = ATTRIBUTES_PER_PAGE
) -> AttributesPage:
    """Leaves page*per_page.. of document (page from the query string, 1 when not valid)."""
    number = min(parse_id(page) or 1, 10**6)
    start = (number - 1) * per_page
    total = 0
    shown = []
    for item in leaf_items(document):
        if start <= total < start + per_page:
            shown.append(item)
        total += 1
    if not shown and total:
        return attributes_page(document, page="1", per_page=per_page)
    return AttributesPage(document_of(shown), number, start + 1, len(shown), total)


@dataclass
class ChangeSummary:
    """A change row as the profile page lists it: its first paths, each marked changed or not."""

    change: ProfileChange
    paths: list[tuple[str, bool]]
    more_paths: int


def change_summary(change: ProfileChange, *, limit: int = PATHS_PER_CHANGE) -> ChangeSummary:
    changed = set(change.changed_paths)
    written = change.written_paths
    return ChangeSummary(
        change=change,
        paths=[(path, path in changed) for path in written[:limit]],
        more_paths=max(0, len(written) - limit),
    )


def profile_memberships(profile: Profile) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(profile=profile).select_related("segment")


def profile_recent_changes(profile: Profile, *, limit: int = 20) -> list[ProfileChange]:
    return list(ProfileChange.objects.filter(profile_id=profile.pk).order_by("-id")[:limit])


def segments_with_sizes(*, query: str = "") -> QuerySet[Segment]:
    """Segments annotated with ``size`` (realized + existing members)."""
    segments = Segment.objects.annotate(
        size=Count("memberships", filter=Q(memberships__status__in=LIVE_STATUSES))
    )
    if query.strip():
        segments = segments.filter(
            Q(name__icontains=query.strip()) | Q(description__icontains=query.strip())
        )
    return segments


def segment_size(segment: Segment) -> int:
    return SegmentMembership.objects.filter(segment=segment, status__in=LIVE_STATUSES).count()


def rule_match_count(rule: dict, *, today: dt.date | None = None) -> int:
    """How many profiles match rule now (the rule must be valid)."""
    if supports_sql(connection):
        return Profile.objects.filter(RuleMatches(rule, today=today)).count()
    predicate = matcher(rule, today=today)
    count, last = 0, 0
    while True:
        rows = list(
            Profile.objects.filter(id__gt=last)
            .order_by("id")
            .values_list("id", "attributes")[:COUNT_CHUNK]
        )
        if not rows:
            return count
        count += sum(1 for _, attributes in rows if predicate(attributes))
        last = rows[-1][0]


def attribute_paths_sample(*, limit: int = 500) -> list[str]:
    """Attribute paths seen on recent profiles (suggestions for the rule editor)."""
    from profiles.attributes import leaf_paths

    paths: set[str] = set()
    for attributes in Profile.objects.order_by("-id").values_list("attributes", flat=True)[:limit]:
        paths.update(leaf_paths(attributes))
    return sorted(paths)
