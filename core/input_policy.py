"""The input policy: what the product accepts from outside, defined once.

Every entrance uses it: the REST API's JSON bodies (``JsonParser``, installed on
the NinjaAPI in config/api.py) and query strings, the UI's forms and query
strings (``RefuseUnstorableTextMiddleware``), the JSON the UI parses (segment
rules, profile patches), the import command, and ids taken from query strings
(``parse_id``). Anything refused raises ``InputError``, which names the field
(``[3].attributes.person.name``, ``rule_json``, ``q``) and says what is wrong;
the API answers it as a 400 in its error format, the UI as a form error or a
400 page.

The policy, and why:

* **Text** is valid Unicode without NUL (``\\u0000``) and without lone
  surrogates (``\\ud800``-``\\udfff``). PostgreSQL's text and jsonb refuse NUL,
  and a lone surrogate cannot be encoded as UTF-8, so either would fail a
  write, a page or an export later.
* **Numbers** are finite (no ``NaN``/``Infinity``, no ``1e400``, which Python
  reads as infinity) and integers lie within ±(2^53 - 1), the range every JSON
  consumer (JavaScript included) reads exactly. Longer digit strings are
  refused before Python converts them (which itself fails past 4,300 digits).
* **Nesting** of arrays and objects together is at most ``MAX_JSON_DEPTH``
  levels. Each kind of document adds its own limits on top (profile
  attributes: profiles/attributes.py; segment rules: profiles/rules.py).
* **Size**: bodies are bounded by ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413 above).
* **Ids** from query strings are whole numbers in 1..2^63 - 1 (PostgreSQL's
  bigint); anything else is "no id", never a database error.
"""

import contextlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

MAX_JSON_DEPTH = 64
MAX_SAFE_INTEGER = 2**53 - 1
MAX_ID = 2**63 - 1
# Digits of the largest safe integer (16) with room for a sign; longer literals are refused
# before conversion.
_MAX_INTEGER_CHARS = 20
_MAX_FLOAT_CHARS = 400
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class InputError(ValueError):
    """Input the policy refuses: where (``field``) and what is wrong (``message``)."""

    def __init__(self, field: str, message: str, *, code: str = "invalid_input") -> None:
        super().__init__(f"{field or 'body'}: {message}")
        self.field = field or "body"
        self.message = message
        self.code = code  # "malformed_json" when the text is not JSON at all

    @property
    def fields(self) -> dict[str, str]:
        return {self.field: self.message}


# --- text ----------------------------------------------------------------------------


def text_problem(value: str) -> str | None:
    """Why value cannot be stored as text, or None when it can."""
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(bad.group()):04x}), which is not valid Unicode text"


def printable(text: str) -> str:
    """text with NUL and lone surrogates escaped, so an error message can quote it."""
    if _BAD_TEXT.search(text) is None:
        return text
    return _BAD_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def parse_id(value: Any) -> int | None:
    """A database id (1..2^63 - 1) from a query-string value; None for anything else."""
    number = parse_index(value, limit=MAX_ID)
    return number if number else None


def parse_index(value: Any, *, limit: int = 10**6) -> int | None:
    """A whole number 0..limit in ASCII digits (not "²" or other Unicode digits); else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(limit)):
        return None
    number = int(value)
    return number if number <= limit else None


# --- JSON ----------------------------------------------------------------------------


class _Refused:
    """A literal the parser read but the policy refuses; reported with its location."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _parse_int(text: str) -> int | _Refused:
    if len(text) > _MAX_INTEGER_CHARS:
        return _Refused(f"has {len(text)} digits: integers must lie within ±{MAX_SAFE_INTEGER}")
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    if len(text) > _MAX_FLOAT_CHARS:
        return _Refused(f"is a {len(text)}-character number: too long")
    return float(text)


def _parse_constant(text: str) -> _Refused:
    return _Refused(f"is {text}: numbers must be finite")


def scalar_problem(value: Any) -> str | None:
    """Why a JSON leaf value breaks the policy, or None (objects and arrays are not leaves)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return f"is outside ±{MAX_SAFE_INTEGER}, the range of exact JSON integers"
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    if isinstance(value, _Refused):
        return value.problem
    return "is not a JSON value"


def location(parent: str, key: str | int) -> str:
    """Dotted location of a child: ``a.b``, ``a[3]``; the root's children have no dot."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def check_json(value: Any, *, field: str = "", max_depth: int = MAX_JSON_DEPTH) -> None:
    """InputError at the first place value breaks the policy (iterative: any depth is safe).

    Clean documents, nearly all of them, are recognised in C (json.dumps refuses
    NaN and infinities, one regex search finds NUL or a lone surrogate anywhere)
    plus one cheap pass over the containers; only a suspect document is walked
    again to name the place.
    """
    if _looks_clean(value, max_depth):
        return
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= max_depth:
                raise InputError(where, f"is nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                for key, child in node.items():
                    if not isinstance(key, str):
                        raise InputError(where, "has a key that is not text")
                    if problem := text_problem(key):
                        raise InputError(location(where, printable(key)), f"key {problem}")
                    here = location(where, key)
                    stack.append((child, here, depth + 1))
            else:
                stack.extend((child, location(where, i), depth + 1) for i, child in enumerate(node))
        elif problem := scalar_problem(node):
            raise InputError(where, problem)


def _looks_clean(value: Any, max_depth: int) -> bool:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False  # NaN, infinity, a placeholder, a non-JSON type, or very deep
    # json.dumps writes NUL as the escape \u0000 (control characters are always escaped)
    # and a lone surrogate as itself; text that merely contains "\u0000" goes the slow way.
    if "\\u0000" in text or (not text.isascii() and _BAD_TEXT.search(text) is not None):
        return False
    if type(value) is dict or type(value) is list:
        return _shape_is_clean(value, max_depth)
    return scalar_problem(value) is None


_PLAIN_LEAVES = frozenset({str, float, bool, type(None)})


def _shape_is_clean(node: dict | list, depth_left: int) -> bool:
    """Containers within depth_left levels, text keys, integers in range, plain types only
    (one quick pass; anything unusual is left to check_json's walk)."""
    if depth_left <= 0:
        return False
    if type(node) is dict:
        for key in node:
            if type(key) is not str:
                return False  # json.dumps would have turned the key into text
        children: Any = node.values()
    else:
        children = node
    for child in children:
        kind = type(child)
        if kind is dict or kind is list:
            if not _shape_is_clean(child, depth_left - 1):
                return False
        elif kind is int:
            if child > MAX_SAFE_INTEGER or child < -MAX_SAFE_INTEGER:
                return False
        elif kind not in _PLAIN_LEAVES:
            return False
    return True


def parse_json(
    data: str | bytes, *, field: str = "", max_depth: int = MAX_JSON_DEPTH, check: bool = True
) -> Any:
    """data parsed as JSON under the policy; InputError naming the field otherwise.

    ``field`` prefixes locations inside the document: ``field="rule_json"``
    reports ``rule_json.and[0].value``; the default reports ``[3].attributes.x``.
    With ``check=False`` only the syntax is checked here and the caller runs
    ``check_json`` on each part it uses (the ingestion API does, per record, so
    one bad record of a batch does not refuse the others); refused literals are
    then placeholders that ``check_json`` reports.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"is not UTF-8 text (byte {exc.start})"
            raise InputError(field, message, code="malformed_json") from exc
    try:
        value = json.loads(
            data,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if "\n" in data else f"column {exc.colno}"
        message = f"is not valid JSON: {exc.msg} ({where})"
        raise InputError(field, message, code="malformed_json") from exc
    except RecursionError as exc:
        raise InputError(field, f"is nested deeper than {max_depth} levels") from exc
    if check:
        check_json(value, field=field, max_depth=max_depth)
    return value


class PolicyJSONDecoder(json.JSONDecoder):
    """Django's JSONField form fields read JSON under the policy with this decoder
    (``forms.JSONField(decoder=PolicyJSONDecoder)``): refused input is "not valid JSON"."""

    def decode(self, s: str, *args: Any) -> Any:
        try:
            return parse_json(s)
        except InputError as exc:
            raise json.JSONDecodeError(exc.message, s, 0) from exc


# --- query strings and forms ------------------------------------------------------------


def request_text_problem(request: HttpRequest) -> InputError | None:
    """The first query-string or form parameter (name or value) that is not valid text."""
    sources = [request.GET]
    if (
        request.method == "POST"
        and not request.path.startswith("/api/")  # the API reads JSON bodies only
        and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # A broken multipart body: the view finds no fields, as it would without us.
        with contextlib.suppress(MultiPartParserError):
            sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if problem := text_problem(name):
                return InputError(printable(name), f"parameter name {problem}")
            for value in values:
                if problem := text_problem(value):
                    return InputError(name, problem)
    return None


class RefuseUnstorableTextMiddleware:
    """Answer 400 naming the parameter when a query string or form holds text the
    policy refuses, before any view or query sees it (the API gets its error format)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        error = request_text_problem(request)
        if error is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            from core.api_errors import error_body

            body = error_body("invalid_input", str(error), error.fields)
            return JsonResponse(body, status=400)
        context = {"field": error.field, "message": error.message}
        return render(request, "core/bad_input.html", context, status=400)
