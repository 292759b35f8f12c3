"""Reads of the profile store: lookups, profile documents, segment sizes and counts."""

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from core.input_policy import parse_id
from profiles.attributes import document_of, leaf_items
from profiles.models import (
    BUILTIN_NAMESPACES,
    MEMBER_STATUSES,
    Identity,
    IdentityNamespace,
    Profile,
    ProfileChange,
    Segment,
    SegmentMembership,
)
from profiles.records import normalize_identity
from profiles.rules import RuleMatches, matcher, supports_sql

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


# What a bare value looks like: the namespaces it most likely belongs to come first.
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PHONE = re.compile(r"\+?[0-9]{6,15}")
_LONG_DIGITS = re.compile(r"[0-9]{16,}")
IDENTITY_CANDIDATE_LIMIT = 20


def likely_namespaces(text: str) -> list[str]:
    """Namespaces whose syntax the bare value fits: e-mail shape, phone digits, long ECID."""
    text = text.strip()
    fits = []
    if "@" in text:
        fits.append("email")
    if _PHONE.fullmatch(_PHONE_SEPARATORS.sub("", text)):
        fits.append("phone")
    if _LONG_DIGITS.fullmatch(text):
        fits.append("ecid")
    return fits


def _stored_forms(namespace: str, text: str) -> set[str]:
    forms = {normalize_identity(namespace, text)}
    if namespace == "phone":
        forms.add(_PHONE_SEPARATORS.sub("", text.strip()))  # "+1 (555) 010-9999"
    return forms


def identity_matches(text: str, *, limit: int = IDENTITY_CANDIDATE_LIMIT) -> list[Identity]:
    """The identities a search text names, for every search box of the product.

    ``namespace:value`` is looked up in that namespace only. A bare value (or an
    unknown prefix) is looked up by exact stored value in every namespace, through
    the (namespace, value) index; the namespaces its syntax fits come first.
    """
    text = text.strip()
    if not text:
        return []
    codes = namespace_codes()
    parsed = parse_identity_query(text)
    if parsed and parsed[0] in codes:
        wanted = {parsed[0]: {parsed[1]}}
    else:
        wanted = {code: _stored_forms(code, text) for code in codes}
    matches = Q()
    for code, values in wanted.items():
        matches |= Q(namespace=code, value__in=sorted(values))
    found = list(Identity.objects.filter(matches).order_by("namespace", "profile_id")[:limit])
    fits = likely_namespaces(text)
    found.sort(key=lambda i: (i.namespace not in fits, i.namespace, i.profile_id))
    return found


# --- one profile from a search text (the delivery lookup, any "which profile?" box) ---


class IdentityLookupError(ValueError):
    """A search text that names no profile; the message says why."""


@dataclass
class ProfileMatch:
    profile_id: int
    identities: list[Identity]


class AmbiguousIdentity(IdentityLookupError):  # noqa: N818 - reads as a sentence
    """A bare value names identities of several profiles: the marketer picks one."""

    def __init__(self, text: str, candidates: list[Identity]) -> None:
        self.candidates = candidates
        super().__init__(
            f"“{text}” is an identity of {len({c.profile_id for c in candidates})} profiles; "
            "choose one."
        )


def profile_by_identity(*, text: str) -> ProfileMatch:
    """The profile an identity names: ``namespace:value`` or a bare value (any namespace)."""
    found = identity_matches(text)
    if not found:
        parsed = parse_identity_query(text)
        if parsed and parsed[0] in namespace_codes():
            raise IdentityLookupError(f"No profile has the identity {parsed[0]}:{parsed[1]}.")
        raise IdentityLookupError(
            f"No profile has the identity “{text.strip()[:200]}” in any namespace. Check the "
            "value, or type it as namespace:value (for example email:jane@example.com)."
        )
    if len({identity.profile_id for identity in found}) > 1:
        raise AmbiguousIdentity(text.strip()[:200], found)
    return profile_by_id(profile_id=found[0].profile_id)


def profile_by_id(*, profile_id: int) -> ProfileMatch:
    identities = list(Identity.objects.filter(profile_id=profile_id).order_by("namespace", "value"))
    return ProfileMatch(profile_id=profile_id, identities=identities)


def profiles_search(*, query: str) -> QuerySet[Profile]:
    """Profiles for the search box: ``namespace:value``, a bare identity value, or an id.

    Every lookup uses the (namespace, value) index, so search stays instant on
    millions of profiles; the newest profiles come first.
    """
    profiles = Profile.objects.prefetch_related("identities").order_by("-id")
    query = query.strip()
    if not query:
        return profiles
    matches = Q(pk__in=[identity.profile_id for identity in identity_matches(query)])
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
    # (segment id, its name or "" once deleted, realized/exited)
    memberships: list[tuple[str, str, str]] = field(default_factory=list)


def change_summary(
    change: ProfileChange,
    *,
    limit: int = PATHS_PER_CHANGE,
    segment_names: dict[str, str] | None = None,
) -> ChangeSummary:
    changed = set(change.changed_paths)
    written = change.written_paths
    names = segment_names or {}
    return ChangeSummary(
        change=change,
        paths=[(path, path in changed) for path in written[:limit]],
        more_paths=max(0, len(written) - limit),
        memberships=[
            (segment_id, names.get(segment_id, ""), status)
            for segment_id, status in (change.membership_changes or {}).items()
        ],
    )


def change_summaries(changes: list[ProfileChange]) -> list[ChangeSummary]:
    """The profile page's change rows, segments named (one query for every name)."""
    ids = {segment_id for c in changes for segment_id in (c.membership_changes or {})}
    valid = [pk for pk in ids if parse_uuid(pk) is not None]
    rows = Segment.objects.filter(pk__in=valid).values_list("pk", "name")
    names = {str(pk): name for pk, name in rows}
    return [change_summary(c, segment_names=names) for c in changes]


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def profile_memberships(profile: Profile) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(profile=profile).select_related("segment")


def profile_recent_changes(profile: Profile, *, limit: int = 20) -> list[ProfileChange]:
    return list(ProfileChange.objects.filter(profile_id=profile.pk).order_by("-id")[:limit])


def segments_with_sizes(*, query: str = "") -> QuerySet[Segment]:
    """Segments annotated with ``size`` (realized + existing members)."""
    segments = Segment.objects.annotate(
        size=Count("memberships", filter=Q(memberships__status__in=MEMBER_STATUSES))
    )
    if query.strip():
        segments = segments.filter(
            Q(name__icontains=query.strip()) | Q(description__icontains=query.strip())
        )
    return segments


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
