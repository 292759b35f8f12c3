"""The segment editor's structured mode: rows of conditions <-> a rule tree.

The builder edits the common shape, "match all (or any) of these
conditions"; anything deeper (nested groups, ``not``) is edited as JSON. Each
row is a path, an operator and the value as typed; values are read as JSON
when they parse as a JSON scalar (``12``, ``true``, ``"12"``) and as text
otherwise, and ``in`` takes a comma-separated list.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from core.input_policy import InputError, parse_index, parse_json
from profiles.rules import ALIASES, OPERATORS, RuleError

OPERATOR_LABELS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "in": "is one of",
    "contains": "contains",
    "starts_with": "starts with",
    "exists": "exists",
    "gt": "is greater than (>)",
    "gte": "is at least (>=)",
    "lt": "is less than (<)",
    "lte": "is at most (<=)",
    "within_last_days": "is within the last N days",
}
assert set(OPERATOR_LABELS) == set(OPERATORS)
MATCHES = {"and": "all", "or": "any"}


@dataclass
class Row:
    path: str = ""
    op: str = "equals"
    value: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def rows_from_rule(rule: Any) -> tuple[str, list[Row]] | None:
    """(match, rows) when the builder can show rule; None when only JSON can."""
    if not isinstance(rule, dict) or not rule:
        return "and", [Row()]
    if "path" in rule:
        leaves, match = [rule], "and"
    else:
        match = next((k for k in MATCHES if k in rule), "")
        leaves = rule.get(match) if match else None
        if not isinstance(leaves, list) or not all(_is_leaf(x) for x in leaves):
            return None
    return match, [
        Row(path=x["path"], op=ALIASES.get(x["op"], x["op"]), value=value_to_text(x))
        for x in leaves
    ]


def _is_leaf(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("path"), str)
        and ALIASES.get(node.get("op"), node.get("op")) in OPERATORS
        and set(node) <= {"path", "op", "value"}
    )


def value_to_text(leaf: dict) -> str:
    if "value" not in leaf:
        return ""
    value = leaf["value"]
    if isinstance(value, list):
        return ", ".join(_scalar_text(v) for v in value)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        # Text that would read back as another JSON type keeps its quotes.
        return json.dumps(value) if _parse_scalar(value) != value else value
    return json.dumps(value)


def _parse_scalar(text: str) -> Any:
    text = text.strip()
    try:
        value = parse_json(text)
    except InputError:
        return text  # not JSON (or NaN, 1e400…): the text as typed
    return value if isinstance(value, str | int | float | bool) else text


def value_from_text(op: str, text: str) -> Any:
    """The JSON value of a row as typed (None for exists)."""
    if op == "exists":
        return None
    if op == "in":
        return [_parse_scalar(part) for part in text.split(",") if part.strip()]
    if op == "within_last_days":
        text = text.strip()
        return _parse_scalar(text)  # a whole number of days, or what validation refuses
    if op == "starts_with":
        return text  # text as typed, spaces included
    return _parse_scalar(text)


def rule_from_rows(match: str, rows: list[Row]) -> dict:
    leaves = []
    for row in rows:
        leaf: dict[str, Any] = {"path": row.path.strip(), "op": row.op}
        value = value_from_text(row.op, row.value)
        if value is not None:
            leaf["value"] = value
        leaves.append(leaf)
    return {match if match in MATCHES else "and": leaves}


def rows_from_data(data: Any) -> list[Row]:
    """Rows from the submitted form (parallel lists path/op/value)."""
    paths, ops, values = data.getlist("path"), data.getlist("op"), data.getlist("value")
    return [
        Row(path=p, op=o if o in OPERATORS else "equals", value=v)
        for p, o, v in zip(paths, ops, values, strict=False)
    ]


def attach_errors(rows: list[Row], errors: list[RuleError]) -> list[str]:
    """Put each error on its row (rule.and[2].value -> row 2, value); returns the rest."""
    rest = []
    for error in errors:
        parts = error.location.split(".")
        index = _row_index(parts[1] if len(parts) > 1 else "")
        if index is not None and index < len(rows) and len(parts) > 2:
            rows[index].errors[parts[2]] = error.message
        else:
            rest.append(str(error))
    return rest


def _row_index(part: str) -> int | None:
    for prefix in ("and[", "or["):
        if part.startswith(prefix) and part.endswith("]"):
            digits = part[len(prefix) : -1]
            return parse_index(digits)
    return None
