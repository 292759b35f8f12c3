"""The SQL compilation of a rule must select exactly the profiles the Python matcher does."""

import datetime as dt
import random

import pytest

from profiles.models import Profile
from profiles.rules import RuleMatches, matcher
from tests.profiles.test_rules import PROFILE, TODAY

TRICKY = [
    PROFILE,
    {},
    {"loyalty": {"points": "1200", "tier": 3, "member": 1}},
    {"loyalty": {"points": True, "tier": None}},
    {"loyalty": {"points": 1200.0000001, "tier": ["gold"]}},
    {"loyalty": {"points": -5, "tier": {"name": "gold"}}},
    {"loyalty": [1, 2]},
    {"loyalty": "gold"},
    {"person": {"birthDate": "1990-05-17T10:00:00+02:00", "name": "Ann"}},
    {"person": {"birthDate": "17/05/1990"}},
    {"person": {"birthDate": 19900517}},
    {"person": {"birthDate": "2026-13-45"}},
    {"lastPurchaseAt": "2026-06-15"},
    {"lastPurchaseAt": "2026-06-16"},
    {"lastPurchaseAt": "2026-05-16"},
    {"interests": "golf and wine"},
    {"interests": [["golf"], {"golf": 1}]},
    {"interests": [7.0, True]},
    {"interests": []},
    {"personalEmail": {"address": "ANN@ACME.COM"}},
    {"personalEmail": {"address": "ann@acme.com\u00e9"}},
    {"personalEmail": {"address": ""}},
    {"nothing": None, "person": None},
    {"tags": {"0": "x"}},
]


def rules() -> list[dict]:
    from tests.profiles import test_rules

    marks = test_rules.test_each_operator.pytestmark
    cases = [rule for rule, _ in next(m for m in marks if m.name == "parametrize").args[1]]
    cases += [
        {"path": "interests", "op": "contains", "value": True},
        {"path": "interests", "op": "contains", "value": 7},
        {"path": "personalEmail.address", "op": "starts_with", "value": "ANN"},
        {"path": "person.birthDate", "op": "lte", "value": "1990-05-17"},
        {"path": "lastPurchaseAt", "op": "within_last_days", "value": 30},
        {"path": "loyalty.tier", "op": "in", "value": ["gold", 3, True]},
        {"path": "loyalty", "op": "exists"},
        {"not": {"path": "loyalty.points", "op": "gt", "value": 0}},
        {
            "or": [
                {"and": [{"path": "loyalty.points", "op": "gte", "value": 1200}]},
                {"not": {"path": "person.birthDate", "op": "exists"}},
            ]
        },
    ]
    return cases


def random_documents(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    values = [None, 0, 1, 1200, 1200.0, -3.5, True, False, "", "gold", "Ann", "1990-05-17"]
    values += ["2026-06-10T00:00:00Z", [], ["golf"], [7, "wine"], {"x": 1}]
    docs = []
    for _ in range(count):
        doc: dict = {}
        for path in ("loyalty.points", "loyalty.tier", "person.birthDate", "interests"):
            if rng.random() < 0.7:
                head, tail = path.split(".") if "." in path else (path, None)
                value = rng.choice(values)
                if tail is None:
                    doc[head] = value
                elif isinstance(doc.get(head, {}), dict):
                    doc.setdefault(head, {})[tail] = value
        docs.append(doc)
    return docs


@pytest.mark.parametrize("rule", rules(), ids=lambda r: str(r)[:60])
def test_sql_and_python_agree(postgres_only, rule):
    documents = TRICKY + random_documents(150)
    Profile.objects.bulk_create(Profile(attributes=d) for d in documents)
    predicate = matcher(rule, today=TODAY)
    expected = {p.pk for p in Profile.objects.all() if predicate(p.attributes)}
    in_sql = set(
        Profile.objects.filter(RuleMatches(rule, today=TODAY)).values_list("id", flat=True)
    )
    assert in_sql == expected


def test_rule_matches_refuses_other_databases(db):
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("checks the non-PostgreSQL path")
    with pytest.raises(NotImplementedError):
        list(Profile.objects.filter(RuleMatches({"path": "a", "op": "exists"})))


def test_today_defaults_to_the_utc_date(postgres_only):
    rule = {"path": "seen", "op": "within_last_days", "value": 1}
    today = dt.datetime.now(dt.UTC).date()
    Profile.objects.create(attributes={"seen": today.isoformat()})
    Profile.objects.create(attributes={"seen": (today - dt.timedelta(days=2)).isoformat()})
    assert Profile.objects.filter(RuleMatches(rule)).count() == 1
