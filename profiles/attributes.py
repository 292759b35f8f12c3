"""Profile attribute documents: dotted paths, merging writes, and leaf paths.

A profile's attributes are one nested JSON object addressed by XDM-style
dotted paths (``person.name.firstName``). A write merges into it: objects
merge key by key, any other value (string, number, boolean, array) replaces
what was there, and an explicit ``null`` removes the key. Objects left empty
by a removal are pruned, so a document never holds ``{}`` or ``null``.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.input_policy import (
    MAX_SAFE_INTEGER,
    location,
    printable,
    scalar_problem,
    text_problem,
)

# One path segment: letters, digits, underscore, hyphen, and a leading "_" for
# tenant namespaces as XDM uses them. No dots (they separate segments).
SEGMENT_RE = re.compile(r"^[A-Za-z0-9_@$-]{1,100}$")
KEY_PROBLEM = (
    "invalid attribute name: use 1-100 letters, digits, '_', '-', '@' or '$' "
    "(no dots: nest objects instead)"
)
# Limits of one write (README, Security). Depth counts objects and arrays alike.
MAX_DEPTH = 12
MAX_PATH_LENGTH = 500
MAX_LEAF_PATHS = 2_000
MAX_STRING_LENGTH = 65_536
MAX_ARRAY_LENGTH = 1_000
MAX_REPORTED_ERRORS = 20

_MISSING = object()


def split_path(path: str) -> list[str]:
    """The keys of a dotted path; ValueError naming the problem when it is not valid."""
    if not isinstance(path, str) or not path:
        raise ValueError("must be a dotted attribute path such as person.name.firstName")
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"is longer than {MAX_PATH_LENGTH} characters")
    keys = path.split(".")
    if len(keys) > MAX_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_DEPTH} levels")
    for key in keys:
        if not SEGMENT_RE.match(key):
            raise ValueError(
                "is not a valid path: each part must be 1-100 letters, digits, "
                "'_', '-', '@' or '$', separated by dots"
            )
    return keys


def path_problem(path: str) -> str | None:
    """Why path is not an attribute path a profile can hold, or None (see split_path)."""
    try:
        split_path(path)
    except ValueError as exc:
        return str(exc)
    return None


def get_path(document: dict, keys: list[str]) -> Any:
    """The value at keys, or None when any step is missing or not an object."""
    value: Any = document
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
        if value is None:
            return None
    return value


def leaf_paths(document: dict, prefix: str = "") -> list[str]:
    """Dotted paths of every non-object value in document (arrays count as leaves)."""
    paths: list[str] = []
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.extend(leaf_paths(value, f"{path}."))
        else:
            paths.append(path)
    return paths


def leaf_items(document: dict) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(keys, value) of every leaf in document order (leaf_paths' order), lazily."""
    stack: list[tuple[tuple[str, ...], Iterator]] = [((), iter(document.items()))]
    while stack:
        keys, items = stack[-1]
        for key, value in items:
            if isinstance(value, dict) and value:
                stack.append(((*keys, key), iter(value.items())))
                break
            yield (*keys, key), value
        else:
            stack.pop()


def document_of(items: Iterable[tuple[tuple[str, ...], Any]]) -> dict:
    """The nested document holding exactly these leaves."""
    document: dict = {}
    for keys, value in items:
        node = document
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return document


def validate_document(document: Any, *, where: str = "attributes") -> dict[str, str]:
    """Errors keyed by dotted location; empty when document is a valid write.

    Checks the limits above and the input policy (core/input_policy.py: valid
    text, finite numbers, exact integers), inside arrays too, in one pass that
    never goes deeper than MAX_DEPTH; it stops after ``MAX_REPORTED_ERRORS``
    problems.
    """
    if not isinstance(document, dict):
        return {where: "must be a JSON object"}
    errors: dict[str, str] = {}
    leaves = _check_object(document, where, 0, errors)
    if leaves > MAX_LEAF_PATHS and len(errors) < MAX_REPORTED_ERRORS:
        errors[where] = f"has {leaves:,} attribute paths; at most {MAX_LEAF_PATHS:,} per write"
    return errors


def _check_object(node: dict, where: str, depth: int, errors: dict[str, str]) -> int:
    """Problems of an object's members; returns its leaf paths (as leaf_paths counts)."""
    leaves = 0
    for key, child in node.items():
        if key not in _VALID_KEYS and not _valid_key(key):
            problem = text_problem(key) if type(key) is str else None
            errors[printable(f"{where}.{key}")] = f"key {problem}" if problem else KEY_PROBLEM
        elif type(child) is dict and child:
            here = f"{where}.{key}"
            if not _too_deep(here, depth + 1, errors):
                leaves += _check_object(child, here, depth + 1, errors)
        else:
            leaves += 1  # arrays count as one path, like an empty object or a scalar
            if not _plainly_fine(child):
                _check_value(child, where, key, depth + 1, errors)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    return leaves


# Attribute names seen valid (they repeat across records): a set lookup instead of a regex.
_VALID_KEYS: set[str] = set()


def _valid_key(key: Any) -> bool:
    if type(key) is not str or not SEGMENT_RE.match(key):
        return False
    if len(_VALID_KEYS) < 50_000:
        _VALID_KEYS.add(key)
    return True


def _plainly_fine(value: Any) -> bool:
    """The common leaves, checked inline: short ASCII text without NUL, safe numbers."""
    kind = type(value)
    if kind is str:
        return len(value) <= MAX_STRING_LENGTH and value.isascii() and "\x00" not in value
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is float:
        return value - value == 0  # false for NaN and infinities
    return kind is bool or value is None


def _check_value(
    value: Any, parent: str, key: str | int, depth: int, errors: dict[str, str]
) -> None:
    """Problems of a value that is not a non-empty object (an array's items included);
    its location (parent.key or parent[key]) is only spelled out for an error."""
    kind = type(value)
    problem = None
    if kind is str:
        if len(value) > MAX_STRING_LENGTH:
            problem = f"is {len(value):,} characters long; at most {MAX_STRING_LENGTH:,}"
        else:
            problem = text_problem(value)
    elif kind is list:
        if not value:
            return
        here = location(parent, key)
        if _too_deep(here, depth, errors):
            return
        if len(value) > MAX_ARRAY_LENGTH:
            errors[here] = f"has {len(value):,} items; at most {MAX_ARRAY_LENGTH:,}"
            return
        for index, item in enumerate(value):
            if type(item) is dict and item:
                if not _too_deep(f"{here}[{index}]", depth + 1, errors):
                    _check_object(item, f"{here}[{index}]", depth + 1, errors)
            elif not _plainly_fine(item):
                _check_value(item, here, index, depth + 1, errors)
    elif kind is not dict:
        problem = scalar_problem(value)  # NaN, 1e400, a huge integer, not a JSON value
    if problem:
        errors[location(parent, key)] = problem


def _too_deep(where: str, depth: int, errors: dict[str, str]) -> bool:
    # A non-empty object or array at depth MAX_DEPTH would hold paths of MAX_DEPTH + 1 keys.
    if depth >= MAX_DEPTH:
        errors[where] = f"is nested deeper than {MAX_DEPTH} levels"
        return True
    return False


@dataclass
class MergeResult:
    """The document after a write, and which paths the write touched."""

    document: dict
    written: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def merge(current: dict, patch: dict) -> MergeResult:
    """Apply patch to a copy of current; record written and changed leaf paths.

    A path is *written* when the patch sets or removes it, even if the value
    stays the same; it is *changed* when the stored value differs afterwards.
    """
    result = MergeResult(document=_copy(current))
    _merge_into(result.document, patch, "", result)
    return result


def _merge_into(target: dict, patch: dict, prefix: str, result: MergeResult) -> None:
    for key, value in patch.items():
        path = f"{prefix}{key}"
        old = target.get(key, _MISSING)
        if value is None:
            result.written.append(path)
            if old is not _MISSING:
                result.changed.extend(_leaves_of(old, path))
                del target[key]
        elif isinstance(value, dict):
            if not value:
                continue
            if old is _MISSING:
                if subtree := _new_subtree(value, f"{path}.", result):
                    target[key] = subtree
                continue
            if not isinstance(old, dict):
                if not _has_values(value):
                    # Removing keys under a scalar removes nothing; the scalar stays.
                    result.written.extend(leaf_paths(value, f"{path}."))
                    continue
                result.changed.extend(_leaves_of(old, path))
                old = {}
                target[key] = old
            _merge_into(old, value, f"{path}.", result)
            if not old:
                del target[key]
        else:
            result.written.append(path)
            if isinstance(old, dict):
                result.changed.extend(_leaves_of(old, path))
                result.changed.append(path)
            elif old is _MISSING or not same_json(old, value):
                result.changed.append(path)
            target[key] = value


def _new_subtree(patch: dict, prefix: str, result: MergeResult) -> dict:
    """What patch writes where the document holds nothing: the patch without its nulls
    and empty objects. Every path it names is written; every value it sets is changed.

    The general merge gives the same result; this is its fast path for new objects,
    of a new profile or beside stored ones (no stored value to look up and compare).
    """
    subtree: dict = {}
    for key, value in patch.items():
        path = f"{prefix}{key}"
        if value is None:
            result.written.append(path)
        elif isinstance(value, dict):
            if value and (child := _new_subtree(value, f"{path}.", result)):
                subtree[key] = child
        else:
            result.written.append(path)
            result.changed.append(path)
            subtree[key] = value
    return subtree


def _has_values(patch: dict) -> bool:
    return any(_has_values(v) if isinstance(v, dict) else v is not None for v in patch.values())


def _leaves_of(value: Any, path: str) -> list[str]:
    if isinstance(value, dict) and value:
        return leaf_paths(value, f"{path}.")
    return [path]


def _copy(document: dict) -> dict:
    # Only objects are mutated by a merge; leaves can be shared.
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in document.items()}


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1 (Python's == says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return a == b


def paths_overlap(path: str, other: str) -> bool:
    """True when one path equals the other or contains it (person.name vs person.name.x)."""
    return path == other or other.startswith(f"{path}.") or path.startswith(f"{other}.")
