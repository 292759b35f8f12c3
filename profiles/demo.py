"""Synthetic demo data: realistic profiles (Faker) and segments matching sensible fractions.

Everything is written through the same services as real data: profiles via
profiles_upsert (so memberships and change rows exist), segments via
segment_create. The same seed gives the same profiles and identities, so
running it again updates those profiles instead of adding new ones. Dates are
relative to today, so date rules (bought in the last 30 days) keep matching.
"""

import datetime as dt
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from faker import Faker

from profiles.models import Segment
from profiles.segments import segment_create
from profiles.services import profiles_upsert

BATCH = 500
LOCALES = ["en_US", "en_GB", "sv_SE", "de_DE"]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "acme.com", "example.org"]
TIERS = ["bronze", "silver", "gold", "platinum"]
TIER_WEIGHTS = [50, 25, 17, 8]
INTERESTS = ["golf", "wine", "running", "cooking", "travel", "gaming", "fashion", "music"]
DEMO_SEGMENTS: list[tuple[str, str, dict]] = [
    (
        "Gold and platinum members",
        "Loyalty members in the two top tiers (about a quarter of profiles).",
        {"path": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
    ),
    (
        "Bought in the last 30 days",
        "Customers whose last purchase was within the last 30 days.",
        {"path": "commerce.lastPurchaseAt", "op": "within_last_days", "value": 30},
    ),
    (
        "Email opt-in, born before 1980",
        "Consented to marketing e-mail and born before 1980.",
        {
            "and": [
                {"path": "consents.marketing.email", "op": "equals", "value": True},
                {"path": "person.birthDate", "op": "lt", "value": "1980-01-01"},
            ]
        },
    ),
    (
        "High value customers",
        "Lifetime value of 1,000 or more.",
        {"path": "commerce.lifetimeValue", "op": "gte", "value": 1000},
    ),
    (
        "Golf or wine lovers outside Sweden",
        "Interested in golf or wine, living outside Sweden.",
        {
            "and": [
                {
                    "or": [
                        {"path": "interests", "op": "contains", "value": "golf"},
                        {"path": "interests", "op": "contains", "value": "wine"},
                    ]
                },
                {"path": "homeAddress.countryCode", "op": "not_equals", "value": "SE"},
            ]
        },
    ),
    (
        "Gmail users",
        "Personal e-mail address at gmail.com.",
        {"path": "personalEmail.address", "op": "contains", "value": "@gmail.com"},
    ),
    (
        "First name starting with A",
        "A small segment for trying things out.",
        {"path": "person.name.firstName", "op": "starts_with", "value": "A"},
    ),
    (
        "Has a phone number",
        "Profiles with a mobile phone number.",
        {"path": "mobilePhone.number", "op": "exists"},
    ),
]


@dataclass
class DemoSummary:
    profiles: int
    segments_created: int
    identities: int


def demo_segments_ensure(count: int) -> int:
    """Create the first `count` demo segments that do not exist yet (by name)."""
    created = 0
    for i in range(count):
        name, description, rule = DEMO_SEGMENTS[i % len(DEMO_SEGMENTS)]
        if i >= len(DEMO_SEGMENTS):
            name = f"{name} ({i // len(DEMO_SEGMENTS) + 1})"
        if Segment.objects.filter(name=name).exists():
            continue
        # Streaming evaluation of the profiles written next finds the members.
        segment_create(name=name, description=description, rule=rule, evaluate=False)
        created += 1
    return created


def demo_data_generate(
    *,
    profiles: int,
    segments: int,
    seed: int,
    today: dt.date | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Create segments, then profiles in batches through the write service."""
    segments_created = demo_segments_ensure(segments)
    identities = 0
    for batch in _batches(demo_records(profiles, seed=seed, today=today), BATCH):
        results = profiles_upsert(records=batch, source="demo")
        failed = [r for r in results if r.error]
        if failed:
            raise RuntimeError(f"demo record rejected: {failed[0].error.message}")
        identities += sum(len(r["identityMap"]) for r in batch)
        if on_batch:
            on_batch(len(batch))
    from django.utils import timezone

    Segment.objects.filter(active=True).update(evaluated_at=timezone.now())
    from governance.demo import governance_demo_ensure

    governance_demo_ensure()  # labelled fields and a consent policy (SPEC §8)
    return DemoSummary(profiles=profiles, segments_created=segments_created, identities=identities)


def _batches(records: Iterator[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def demo_records(count: int, *, seed: int, today: dt.date | None = None) -> Iterator[dict]:
    """`count` reproducible profile records with four identities each."""
    today = today or dt.datetime.now(dt.UTC).date()
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    for i, faker in enumerate(fakers.values()):
        faker.seed_instance(seed * 10 + i)
    for n in range(count):
        locale = rng.choice(LOCALES)
        yield _record(n, seed, rng, fakers[locale], locale, today)


def _record(
    n: int, seed: int, rng: random.Random, faker: Faker, locale: str, today: dt.date
) -> dict:
    first, last = faker.first_name(), faker.last_name()
    email = f"{_ascii(first)}.{_ascii(last)}.{seed}.{n}@{rng.choice(DOMAINS)}".lower()
    phone = f"+{rng.choice([1, 44, 46, 49])}{rng.randrange(10**8, 10**9)}"
    birth = today - dt.timedelta(days=rng.randrange(18 * 365, 85 * 365))
    last_purchase = today - dt.timedelta(days=int(rng.expovariate(1 / 60)))
    orders = max(1, int(rng.expovariate(1 / 6)))
    attributes = {
        "person": {
            "name": {"firstName": first, "lastName": last},
            "birthDate": birth.isoformat(),
            "gender": rng.choice(["female", "male", "not_specified"]),
        },
        "personalEmail": {"address": email},
        "homeAddress": {
            "city": faker.city(),
            "postalCode": faker.postcode(),
            "countryCode": locale.split("_")[1].replace("GB", "GB"),
        },
        "loyalty": {
            "tier": rng.choices(TIERS, weights=TIER_WEIGHTS)[0],
            "points": rng.randrange(0, 20_000),
        },
        "commerce": {
            "lastPurchaseAt": f"{last_purchase.isoformat()}T{rng.randrange(24):02d}:00:00Z",
            "orders": orders,
            "lifetimeValue": round(orders * rng.uniform(20, 250), 2),
        },
        "interests": rng.sample(INTERESTS, rng.randrange(0, 4)),
        "consents": {"marketing": {"email": rng.random() < 0.6}},
    }
    if rng.random() < 0.85:
        attributes["mobilePhone"] = {"number": phone}
    return {
        "identityMap": {
            "ecid": [{"id": str(rng.randrange(10**37, 10**38))}],
            "email": [{"id": email, "primary": True}],
            "phone": [{"id": phone}],
            "crmid": [{"id": f"CRM-{seed}-{n:07d}"}],
        },
        "attributes": attributes,
    }


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain if ch.isalnum()) or "x"
