"""Segment rules: a JSON condition tree, validated, evaluated in Python, compiled to SQL.

Grammar (every node is one JSON object)::

    {"and": [node, ...]}   all children hold (at least one child)
    {"or":  [node, ...]}   at least one child holds
    {"not": node}          the child does not hold
    {"path": "person.birthDate", "op": "<operator>", "value": ...}

Operators on the attribute at ``path``:

==================  ==========================================================
``equals``          same JSON value (1 equals 1.0; true never equals 1)
``not_equals``      not ``equals`` (a profile without the attribute matches)
``in``              equals one of a non-empty list of values
``contains``        a string containing the text, or an array holding the value
``starts_with``     a string starting with the text
``exists``          present and not null (no ``value``)
``gt gte lt lte``   numbers against a number; dates against ``YYYY-MM-DD``
``within_last_days``  a date in the last N days, today (UTC) included
==================  ==========================================================

Dates are strings starting ``YYYY-MM-DD`` (a date or an ISO-8601 timestamp);
they compare by day. A value of the wrong type never matches (``"abc" > 3``
is false, not an error). The symbols ``= == != > >= < <=`` are accepted as
aliases.

Rules are evaluated safely: the tree is interpreted, never passed to eval.
``matcher()`` builds the Python predicate every write uses (the source of
truth); ``RuleMatches`` compiles the same rule to one SQL condition on
PostgreSQL so counts and batch evaluation run in the database. Both must agree
on every input: tests/profiles/test_rules_sql.py checks them side by side.
"""

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Expression, F
from django.utils.translation import gettext

from core.input_policy import InputError, check_json
from profiles.attributes import get_path, same_json, split_path

Predicate = Callable[[dict], bool]

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "contains",
    "starts_with",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "within_last_days",
)
ALIASES = {"=": "equals", "==": "equals", "!=": "not_equals", ">": "gt", ">=": "gte"}
ALIASES |= {"<": "lt", "<=": "lte"}
COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_NODES = 200
MAX_DEPTH = 20
MAX_IN_VALUES = 1000
MAX_DAYS = 365 * 200
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
INTEGER_KEY_RE = re.compile(r"^-?[0-9]+$")


@dataclass(frozen=True)
class RuleError:
    """One problem with a rule: where (``rule.and[1].value``) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class InvalidRuleError(ValueError):
    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def operator_of(node: dict) -> str:
    op = node.get("op")
    return ALIASES.get(op, op) if isinstance(op, str) else op


# --- validation -----------------------------------------------------------------


def validate_rule(rule: Any) -> list[RuleError]:
    """Every problem in rule, each pointing at its node; empty when the rule is valid."""
    errors: list[RuleError] = []
    try:
        # The input policy first (valid text, finite numbers, bounded nesting), so the
        # checks below and the SQL compiler only ever see storable values.
        check_json(rule, field="rule", max_depth=2 * MAX_DEPTH + 2)
    except InputError as error:
        return [RuleError(error.field, error.message)]
    counter = [0]
    _validate(rule, "rule", 1, errors, counter)
    if counter[0] > MAX_NODES:
        errors.append(
            RuleError(
                "rule",
                gettext("has %(count)s conditions; at most %(max)s")
                % {"count": counter[0], "max": MAX_NODES},
            )
        )
    return errors


def check_rule(rule: Any) -> None:
    """Raise InvalidRuleError unless rule is valid."""
    errors = validate_rule(rule)
    if errors:
        raise InvalidRuleError(errors)


def _validate(node: Any, where: str, depth: int, errors: list[RuleError], count: list) -> None:
    count[0] += 1
    if depth > MAX_DEPTH:
        errors.append(
            RuleError(where, gettext("is nested deeper than %(max)s levels") % {"max": MAX_DEPTH})
        )
        return
    if not isinstance(node, dict):
        errors.append(RuleError(where, gettext('must be an object such as {"and": [...]}')))
        return
    groups = [k for k in ("and", "or", "not") if k in node]
    if groups:
        key = groups[0]
        extra = sorted(set(node) - {key})
        if extra:
            errors.append(
                RuleError(
                    where,
                    gettext("'%(key)s' cannot be combined with %(extra)s")
                    % {"key": key, "extra": extra},
                )
            )
            return
        if key == "not":
            _validate(node["not"], f"{where}.not", depth + 1, errors, count)
            return
        children = node[key]
        if not isinstance(children, list) or not children:
            errors.append(
                RuleError(f"{where}.{key}", gettext("must be a non-empty list of conditions"))
            )
            return
        for i, child in enumerate(children):
            _validate(child, f"{where}.{key}[{i}]", depth + 1, errors, count)
        return
    _validate_condition(node, where, errors)


def _validate_condition(node: dict, where: str, errors: list[RuleError]) -> None:
    unknown = sorted(set(node) - {"path", "op", "value"})
    if unknown:
        errors.append(
            RuleError(
                where,
                gettext("unknown keys %(keys)s: use and/or/not, or path/op/value")
                % {"keys": unknown},
            )
        )
        return
    if "path" not in node:
        errors.append(RuleError(f"{where}.path", gettext("is required")))
    else:
        try:
            keys = split_path(node["path"])
        except ValueError as exc:
            errors.append(RuleError(f"{where}.path", str(exc)))
        else:
            if any(INTEGER_KEY_RE.match(k) for k in keys):
                errors.append(RuleError(f"{where}.path", gettext("cannot index into arrays")))
    op = operator_of(node)
    if op not in OPERATORS:
        errors.append(
            RuleError(
                f"{where}.op",
                gettext("must be one of %(operators)s") % {"operators": ", ".join(OPERATORS)},
            )
        )
        return
    message = _value_problem(op, node)
    if message:
        errors.append(RuleError(f"{where}.value", message))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _value_problem(op: str, node: dict) -> str | None:
    if op == "exists":
        return gettext("must be left out for 'exists'") if "value" in node else None
    if "value" not in node:
        return gettext("is required for '%(op)s'") % {"op": op}
    value = node["value"]
    if op in ("equals", "not_equals"):
        return None if _is_scalar(value) else gettext("must be a string, number or boolean")
    if op == "in":
        if not isinstance(value, list) or not value:
            return gettext("must be a non-empty list of strings, numbers or booleans")
        if len(value) > MAX_IN_VALUES:
            return gettext("has %(count)s values; at most %(max)s") % {
                "count": len(value),
                "max": MAX_IN_VALUES,
            }
        bad = next((i for i, v in enumerate(value) if not _is_scalar(v)), None)
        if bad is None:
            return None
        return gettext("item %(index)s must be a string, number or boolean") % {"index": bad}
    if op == "contains":
        if isinstance(value, str) and not value:
            return gettext("must not be empty")
        return None if _is_scalar(value) else gettext("must be a string, number or boolean")
    if op == "starts_with":
        return None if isinstance(value, str) and value else gettext("must be a non-empty string")
    if op in COMPARISONS:
        if _is_number(value):
            return None
        return None if _is_date(value) else gettext("must be a number or a date (YYYY-MM-DD)")
    if op == "within_last_days":
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DAYS:
            return None
        return gettext("must be a whole number of days between 1 and %(max)s") % {"max": MAX_DAYS}
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _date_part(value: Any) -> str | None:
    """The YYYY-MM-DD prefix of a date or timestamp string; None for anything else."""
    if isinstance(value, str) and DATE_RE.match(value):
        return value[:10]
    return None


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --- evaluation in Python ---------------------------------------------------------


def matcher(rule: dict, *, today: dt.date | None = None) -> Predicate:
    """A predicate over an attributes document (rule must be valid)."""
    return _compile(rule, today or today_utc())


def matches(rule: dict, attributes: dict, *, today: dt.date | None = None) -> bool:
    return matcher(rule, today=today)(attributes)


def _compile(node: dict, today: dt.date) -> Predicate:
    if "and" in node:
        parts = [_compile(child, today) for child in node["and"]]
        return lambda doc: all(part(doc) for part in parts)
    if "or" in node:
        parts = [_compile(child, today) for child in node["or"]]
        return lambda doc: any(part(doc) for part in parts)
    if "not" in node:
        inner = _compile(node["not"], today)
        return lambda doc: not inner(doc)
    keys = split_path(node["path"])
    test = _leaf_test(operator_of(node), node.get("value"), today)
    return lambda doc: test(get_path(doc, keys))


def _leaf_test(op: str, value: Any, today: dt.date) -> Callable[[Any], bool]:
    if op == "equals":
        return lambda actual: actual is not None and same_json(actual, value)
    if op == "not_equals":
        return lambda actual: actual is None or not same_json(actual, value)
    if op == "in":
        return lambda actual: actual is not None and any(same_json(actual, v) for v in value)
    if op == "contains":
        return lambda actual: _contains(actual, value)
    if op == "starts_with":
        return lambda actual: isinstance(actual, str) and actual.startswith(value)
    if op == "exists":
        return lambda actual: actual is not None
    if op in COMPARISONS:
        compare = _COMPARE[op]
        if _is_number(value):
            return lambda actual: _is_number(actual) and compare(actual, value)
        return lambda actual: (day := _date_part(actual)) is not None and compare(day, value)
    if op == "within_last_days":
        since, until = _window(value, today)
        return lambda actual: (day := _date_part(actual)) is not None and since <= day <= until
    raise ValueError(f"unknown operator {op!r}")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _contains(actual: Any, value: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(value, str) and value in actual
    if isinstance(actual, list):
        return any(same_json(item, value) for item in actual)
    return False


def _window(days: int, today: dt.date) -> tuple[str, str]:
    return (today - dt.timedelta(days=days)).isoformat(), today.isoformat()


# --- compilation to SQL (PostgreSQL) ------------------------------------------------


def rule_sql(rule: dict, column: str, *, today: dt.date | None = None) -> tuple[str, list]:
    """One PostgreSQL boolean condition (never NULL) equivalent to matcher(rule)."""
    params: list = []
    sql = _sql(rule, column, today or today_utc(), params)
    return sql, params


def _sql(node: dict, column: str, today: dt.date, params: list) -> str:
    for key, joiner in (("and", " AND "), ("or", " OR ")):
        if key in node:
            return "(" + joiner.join(_sql(c, column, today, params) for c in node[key]) + ")"
    if "not" in node:
        return f"(NOT {_sql(node['not'], column, today, params)})"
    keys = split_path(node["path"])
    op = operator_of(node)
    value = node.get("value")

    def at() -> str:
        # The attribute's jsonb value (NULL when missing); each use binds its own parameter.
        params.append(keys)
        return f"({column} #> %s::text[])"

    if op in ("equals", "not_equals"):
        x = at()
        params.append(json.dumps(value))
        sql = f"COALESCE({x} = %s::jsonb, false)"
        return sql if op == "equals" else f"(NOT {sql})"
    if op == "in":
        x = at()
        params.append([json.dumps(v) for v in value])
        return f"COALESCE({x} = ANY(%s::jsonb[]), false)"
    if op == "contains":
        x = at()
        if isinstance(value, str):
            y = at()
            params.append(value)
            text_case = f"WHEN 'string' THEN strpos({y} #>> '{{}}', %s) > 0 "
        else:
            text_case = ""
        z = at()
        params.append(json.dumps([value]))
        return (
            f"(CASE jsonb_typeof({x}) {text_case}WHEN 'array' THEN {z} @> %s::jsonb ELSE false END)"
        )
    if op == "starts_with":
        x, y = at(), at()
        params.append(value)
        return (
            f"(CASE WHEN jsonb_typeof({x}) = 'string' "
            f"THEN starts_with({y} #>> '{{}}', %s) ELSE false END)"
        )
    if op == "exists":
        return f"COALESCE(jsonb_typeof({at()}) <> 'null', false)"
    if op in COMPARISONS:
        symbol = COMPARISONS[op]
        if _is_number(value):
            x, y = at(), at()
            params.append(float(value))
            return (
                f"(CASE WHEN jsonb_typeof({x}) = 'number' "
                f"THEN ({y})::float8 {symbol} %s::float8 ELSE false END)"
            )
        day = _day_sql(at)
        params.append(value)
        return f"(CASE WHEN {day[0]} THEN {day[1]} {symbol} %s ELSE false END)"
    if op == "within_last_days":
        since, until = _window(value, today)
        day = _day_sql(at)
        params.extend([since, until])
        return f"(CASE WHEN {day[0]} THEN {day[1]} BETWEEN %s AND %s ELSE false END)"
    raise ValueError(f"unknown operator {op!r}")


def _day_sql(at: Callable[[], str]) -> tuple[str, str]:
    """(is-a-date test, the YYYY-MM-DD prefix in byte order) over the attribute."""
    is_string = f"jsonb_typeof({at()}) = 'string'"
    is_date = f"({at()} #>> '{{}}') ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'"
    prefix = f"(left({at()} #>> '{{}}', 10) COLLATE \"C\")"
    return f"({is_string} AND {is_date})", prefix


class RuleMatches(Expression):
    """A queryset condition true for profiles that match rule (PostgreSQL only).

    ``Profile.objects.filter(RuleMatches(rule))`` counts or lists members in the
    database. Other databases raise NotImplementedError: callers fall back to
    ``matcher()`` over the rows.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, rule: dict, *, today: dt.date | None = None) -> None:
        super().__init__()
        self.rule = rule
        self.today = today or today_utc()
        self.source = F("attributes")

    def get_source_expressions(self) -> list:
        return [self.source]

    def set_source_expressions(self, exprs: list) -> None:
        (self.source,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        if connection.vendor != "postgresql":
            raise NotImplementedError("rule conditions compile to PostgreSQL only")
        column, column_params = compiler.compile(self.source)
        # The column is repeated inside the condition: it must carry no parameters.
        assert not column_params
        return rule_sql(self.rule, column, today=self.today)


def supports_sql(connection: Any) -> bool:
    """True when RuleMatches runs on this database connection."""
    return connection.vendor == "postgresql"
