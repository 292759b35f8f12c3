"""Hostile input for the fuzz tests: what careless clients and attackers send.

Text PostgreSQL or UTF-8 refuse (NUL, lone surrogates), numbers Python or the
database cannot hold (NaN, 1e400, 5,000 digits, beyond bigint), ids out of range,
deep or odd JSON. ``HOSTILE_TEXTS`` are form and query-string values;
``HOSTILE_JSON`` are raw JSON fragments (not all of them strict JSON) to put
anywhere in a request body.
"""

import json
import uuid

from hypothesis import strategies as st

DEEP_ARRAY = "[" * 300 + "]" * 300
DEEP_OBJECT = '{"a":' * 300 + "1" + "}" * 300
HOSTILE_TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "bad\udfffname",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "9" * 5000,
    "-1",
    "0",
    str(2**63),
    str(2**64),
    "²",
    "١٢",
    "1.5",
    "remove-²",
    "remove-" + "9" * 400,
    DEEP_ARRAY,
    DEEP_OBJECT,
    '{"not":' * 300 + '{"path": "a", "op": "exists"}' + "}" * 300,
    '{"path": "a", "op": "gt", "value": NaN}',
    '{"path": "a", "op": "equals", "value": "x\\u0000y"}',
    '{"path": "a\\ud800", "op": "exists"}',
    '{"loyalty": {"tier": "gold\\ud800"}}',
    '{"n": 1e400, "m": ' + "7" * 5000 + "}",
    "null",
    "[]",
    "{}",
    "x" * 10_000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "person..name",
    "a:b",
    "email:x\x00y",
    str(uuid.UUID(int=1)),
]
HOSTILE_JSON = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "9" * 5000,
    "18446744073709551616",
    "-9223372036854775809",
    '"x\\u0000y"',
    '"bad\\ud800name"',
    '"\\udfff"',
    DEEP_ARRAY,
    DEEP_OBJECT,
    '{"\\u0000": 1}',
    '{"\\ud800": [1]}',
    '"' + "x" * 100_000 + '"',
    "[" + ",".join(["1"] * 5000) + "]",
    "null",
    "{}",
    "[]",
    "true",
    "-1",
    "0",
    "1.5",
    '""',
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
hostile_texts = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.text(max_size=20),
    st.integers().map(str),
    st.tuples(st.text(max_size=5), st.sampled_from(["\x00", "\ud800", "\udc00"])).map("".join),
    json_values.map(json.dumps),
)
hostile_json = st.one_of(st.sampled_from(HOSTILE_JSON), json_values.map(json.dumps))
