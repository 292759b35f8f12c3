"""The input policy itself (core/input_policy.py): what it accepts, what it refuses, where."""

import json

import pytest

from core.input_policy import (
    MAX_ID,
    MAX_SAFE_INTEGER,
    InputError,
    check_json,
    parse_id,
    parse_json,
    printable,
    text_problem,
)


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ('{"a": NaN}', "a", "finite"),
        ('{"a": [1, Infinity]}', "a[1]", "finite"),
        ('{"a": -Infinity}', "a", "finite"),
        ('{"a": 1e400}', "a", "finite"),
        ('{"a": ' + "9" * 5000 + "}", "a", "5000 digits"),
        ('{"a": 9007199254740992}', "a", "outside"),
        ('{"a": "x\\u0000y"}', "a", "NUL"),
        ('{"a\\u0000": 1}', "a\\u0000", "NUL"),
        ('[{"b": "bad\\ud800name"}]', "[0].b", "lone surrogate"),
        ('{"\\udfff": 1}', "\\udfff", "lone surrogate"),
        ("[" * 65 + "]" * 65, "[0]" * 64, "deeper than 64"),
        ('{"a":' * 70 + "1" + "}" * 70, ".".join(["a"] * 64), "deeper than 64"),
        ("[" * 100_000 + "]" * 100_000, "body", "deeper"),
        ("{not json", "body", "not valid JSON"),
        (b"\xff\xfe", "body", "not UTF-8"),
    ],
)
def test_refused_json_names_the_place(text, field, fragment):
    with pytest.raises(InputError) as refused:
        parse_json(text)
    assert refused.value.field == field
    assert fragment in refused.value.message
    # The error itself can always be sent as strict JSON (UTF-8, no NUL in keys).
    json.dumps(refused.value.fields, ensure_ascii=False).encode("utf-8")


def test_accepted_json_is_returned_as_is():
    text = '{"a": [1, 2.5, -9007199254740991, "ünïcode ✓ 𝄞", true, null, {"b": {}}]}'
    assert parse_json(text) == json.loads(text)
    assert parse_json("[" * 64 + "]" * 64) is not None


def test_a_field_prefix_locates_inside_a_form_field():
    with pytest.raises(InputError) as refused:
        parse_json('{"and": [{"value": NaN}]}', field="rule")
    assert refused.value.field == "rule.and[0].value"


def test_unchecked_parse_leaves_placeholders_that_check_json_reports():
    records = parse_json('[{"a": 1}, {"a": NaN}]', check=False)
    check_json(records[0])
    with pytest.raises(InputError, match="finite"):
        check_json(records[1])


def test_python_values_outside_json_are_refused():
    for value in (
        {"a": float("nan")},
        {"a": {1, 2}},
        {1: "x"},
        {"a": 2**70},
        {"a": ["ok", "x\x00"]},
        {"a\x00": 1},
        {"a": [[["\ud800"]]]},
        [[]] * 3 + [[[[1e400]]]],
    ):
        with pytest.raises(InputError):
            check_json(value)
    check_json({"a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER, "c": "a literal \\u0000"})


def test_text_problem_and_printable():
    assert text_problem("fine ✓") is None
    assert "NUL" in text_problem("a\x00")
    assert "surrogate" in text_problem("a\ud800")
    assert printable("a\x00b\udc00") == "a\\u0000b\\udc00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 5000, None),
        ("0", None),
        ("-1", None),
        ("1.5", None),
        ("²", None),
        ("١٢", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_id(text, expected):
    assert parse_id(text) == expected
