import datetime as dt

import pytest

from profiles.rules import InvalidRuleError, check_rule, matches, validate_rule

TODAY = dt.date(2026, 6, 15)
PROFILE = {
    "person": {"name": {"firstName": "Ann", "lastName": "Lee"}, "birthDate": "1990-05-17"},
    "personalEmail": {"address": "ann@acme.com"},
    "loyalty": {"points": 1200, "tier": "gold", "member": True},
    "interests": ["golf", "wine", 7],
    "lastPurchaseAt": "2026-06-10T08:30:00Z",
    "nothing": None,
}


def leaf(path, op, value=None, **extra):
    node = {"path": path, "op": op, **extra}
    if value is not None:
        node["value"] = value
    return node


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (leaf("person.name.firstName", "equals", "Ann"), True),
        (leaf("person.name.firstName", "equals", "ann"), False),
        (leaf("loyalty.points", "equals", 1200.0), True),
        (leaf("loyalty.member", "equals", True), True),
        (leaf("loyalty.member", "equals", 1), False),
        (leaf("missing", "equals", "x"), False),
        (leaf("person.name.firstName", "not_equals", "Bob"), True),
        (leaf("person.name.firstName", "not_equals", "Ann"), False),
        (leaf("missing", "not_equals", "Ann"), True),
        (leaf("loyalty.tier", "in", ["silver", "gold"]), True),
        (leaf("loyalty.tier", "in", ["silver", "bronze"]), False),
        (leaf("loyalty.points", "in", [1, 1200]), True),
        (leaf("missing", "in", ["x"]), False),
        (leaf("personalEmail.address", "contains", "@acme."), True),
        (leaf("personalEmail.address", "contains", "@other."), False),
        (leaf("interests", "contains", "golf"), True),
        (leaf("interests", "contains", 7), True),
        (leaf("interests", "contains", "gol"), False),
        (leaf("loyalty.points", "contains", "12"), False),
        (leaf("personalEmail.address", "starts_with", "ann@"), True),
        (leaf("personalEmail.address", "starts_with", "acme"), False),
        (leaf("loyalty.points", "starts_with", "12"), False),
        (leaf("person.birthDate", "exists"), True),
        (leaf("person", "exists"), True),
        (leaf("missing.deeper", "exists"), False),
        (leaf("nothing", "exists"), False),
        (leaf("person.name.firstName.x", "exists"), False),
        (leaf("loyalty.points", "gt", 1000), True),
        (leaf("loyalty.points", "gt", 1200), False),
        (leaf("loyalty.points", "gte", 1200), True),
        (leaf("loyalty.points", "lt", 1200.5), True),
        (leaf("loyalty.points", "lte", 1199), False),
        (leaf("loyalty.tier", "gt", 3), False),
        (leaf("loyalty.member", "gt", 0), False),
        (leaf("person.birthDate", "lt", "2000-01-01"), True),
        (leaf("person.birthDate", "gte", "1990-05-17"), True),
        (leaf("person.birthDate", "gt", "1990-05-17"), False),
        (leaf("lastPurchaseAt", "gte", "2026-06-10"), True),
        (leaf("lastPurchaseAt", "lte", "2026-06-09"), False),
        (leaf("loyalty.tier", "lt", "2030-01-01"), False),
        (leaf("loyalty.points", "lt", "2030-01-01"), False),
        (leaf("lastPurchaseAt", "within_last_days", 5), True),
        (leaf("lastPurchaseAt", "within_last_days", 4), False),
        (leaf("person.birthDate", "within_last_days", 30), False),
        (leaf("loyalty.points", ">", 1000), True),
        (leaf("loyalty.points", "<=", 1000), False),
        (leaf("loyalty.tier", "=", "gold"), True),
        (leaf("loyalty.tier", "!=", "gold"), False),
    ],
)
def test_each_operator(rule, expected):
    check_rule(rule)
    assert matches(rule, PROFILE, today=TODAY) is expected


def test_within_last_days_excludes_future_dates_and_includes_the_boundary():
    rule = leaf("d", "within_last_days", 10)
    assert matches(rule, {"d": "2026-06-05"}, today=TODAY)
    assert not matches(rule, {"d": "2026-06-04"}, today=TODAY)
    assert matches(rule, {"d": "2026-06-15T23:59:59Z"}, today=TODAY)
    assert not matches(rule, {"d": "2026-06-16"}, today=TODAY)


def test_and_or_not_combine():
    gold = leaf("loyalty.tier", "equals", "gold")
    young = leaf("person.birthDate", "gt", "2000-01-01")
    assert not matches({"and": [gold, young]}, PROFILE, today=TODAY)
    assert matches({"or": [gold, young]}, PROFILE, today=TODAY)
    assert matches({"not": young}, PROFILE, today=TODAY)
    assert matches({"and": [gold, {"not": {"or": [young]}}]}, PROFILE, today=TODAY)


@pytest.mark.parametrize(
    ("rule", "location", "fragment"),
    [
        ("gold", "rule", "must be an object"),
        ({}, "rule.path", "is required"),
        ({"and": []}, "rule.and", "non-empty list"),
        (
            {"and": [leaf("a", "exists"), {"path": "b", "op": "equals"}]},
            "rule.and[1].value",
            "required",
        ),
        ({"or": [leaf("a", "exists"), leaf("b", "like", "x")]}, "rule.or[1].op", "must be one of"),
        ({"not": leaf("a..b", "exists")}, "rule.not.path", "not a valid path"),
        (leaf("tags.0", "exists"), "rule.path", "cannot index into arrays"),
        (leaf("a", "exists", "x"), "rule.value", "left out"),
        (leaf("a", "equals", {"x": 1}), "rule.value", "string, number or boolean"),
        (leaf("a", "equals", [1]), "rule.value", "string, number or boolean"),
        (leaf("a", "in", []), "rule.value", "non-empty list"),
        (leaf("a", "in", ["x", {"y": 1}]), "rule.value", "item 1"),
        (leaf("a", "contains", ""), "rule.value", "must not be empty"),
        (leaf("a", "starts_with", 3), "rule.value", "non-empty string"),
        (leaf("a", "gt", "yesterday"), "rule.value", "number or a date"),
        (leaf("a", "gt", "2026-02-30"), "rule.value", "number or a date"),
        (leaf("a", "gt", True), "rule.value", "number or a date"),
        (leaf("a", "within_last_days", 0), "rule.value", "whole number of days"),
        (leaf("a", "within_last_days", 2.5), "rule.value", "whole number of days"),
        ({"path": "a", "op": "exists", "extra": 1}, "rule", "unknown keys"),
        ({"and": [leaf("a", "exists")], "or": []}, "rule", "cannot be combined"),
    ],
)
def test_validation_points_at_the_bad_node(rule, location, fragment):
    errors = validate_rule(rule)
    assert errors, "the rule should be invalid"
    assert errors[0].location == location
    assert fragment in errors[0].message


def test_it_limits_rule_size_and_depth():
    wide = {"or": [leaf("a", "exists")] * 250}
    assert any("at most" in e.message for e in validate_rule(wide))
    deep = leaf("a", "exists")
    for _ in range(25):
        deep = {"not": deep}
    assert any("deeper" in e.message for e in validate_rule(deep))


def test_check_rule_raises_with_every_error():
    with pytest.raises(InvalidRuleError) as info:
        check_rule({"and": [leaf("a", "gt", "x"), leaf("b", "nope", 1)]})
    assert [e.location for e in info.value.errors] == ["rule.and[0].value", "rule.and[1].op"]
