"""Property-based fuzz of the REST API from its own OpenAPI document (schemathesis):
whatever a client sends, valid or not, the API never answers 5xx, and every
error answer uses the one error format.

Below it, the input policy's fuzz (core/input_policy.py): hostile values the schema
cannot express (NaN, 1e400, 5,000 digits, NUL, lone surrogates, deep nesting) drawn
into random places of every operation, and swept systematically through every value
and key of every body and every query parameter.

Bounded for the suite: a few dozen examples per operation (a minute or two).
Raise FUZZ_EXAMPLES to dig deeper, e.g. FUZZ_EXAMPLES=500 pytest tests/api/test_fuzz.py.
"""

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from core.models import ApiToken
from tests.factories import ConnectionFactory, DataflowFactory, SegmentFactory
from tests.support.hostile import hostile_json, hostile_texts

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


# The document is served by the app itself (no database needed for it).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def in_test_transaction(db: Any, aws: Any) -> Iterator[None]:
    # Django's WSGI handler closes "old" connections per request, which would end
    # the test's transaction; Django's own test client does the same as here.
    request_started.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)


@pytest.fixture
def token(user: Any, in_test_transaction: None) -> str:
    # Something to find: fuzzed ids sometimes hit these rows.
    connection = ConnectionFactory(owner=user)
    DataflowFactory(connection=connection)
    SegmentFactory()
    return ApiToken.issue(user=user, name="fuzz")[1]


def error_format(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answer is {"error": {"code", "message", "fields"}}."""
    if 400 <= response.status_code < 500:
        body = json.loads(response.text)
        assert set(body["error"]) == {"code", "message", "fields"}, body
    return None


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_never_fails_with_a_server_error(case: Any, token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, error_format],
    )


# --- hostile values (the input policy, core/input_policy.py) -----------------------------
#
# Schemathesis draws from the schema, which cannot express NaN, 1e400, NUL, lone
# surrogates or deep nesting. This fuzz puts hostile values (tests/support/hostile.py)
# in every place of every operation: any query parameter, any path id, and any value or
# key of a valid body, and expects a 4xx in the error format, never a 5xx.

HOSTILE_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
SLOT = "__hostile_slot__"


def operations() -> list[tuple[str, str, list[tuple[str, str]], bool]]:
    """(method, path, [(parameter, where)], has body) of every operation in the document."""
    from config.api import api as ninja_api

    document = ninja_api.get_openapi_schema()
    return [
        (
            method.upper(),
            path,
            [(p["name"], p["in"]) for p in operation.get("parameters", [])],
            "requestBody" in operation,
        )
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


OPERATIONS = operations()


def valid_bodies(connection_id: int, segment_id: str) -> dict[str, Any]:
    """A valid body per (method, path template): the fuzz breaks one place of it."""
    dataflow = {
        "name": "Fuzz",
        "connectionId": connection_id,
        "segmentSelectors": {
            "selectors": [{"type": "PLATFORM_SEGMENT", "value": {"id": segment_id}}]
        },
        "profileSelectors": {
            "selectors": [{"type": "JSON_PATH", "value": {"path": "person.name.firstName"}}]
        },
        "identitySelectors": {"selectors": [{"namespace": "email", "hashed": True}]},
        "partitionKey": {"source": "profile_id"},
    }
    connection = {
        "name": "Fuzz",
        "description": "d",
        "auth": {
            "specName": "Access Key",
            "params": {"accessKeyId": "AKIAFUZZ", "secretKey": "s", "region": "us-east-1"},
        },
        "params": {"stream": "fuzz"},
    }
    record = {
        "identityMap": {"email": [{"id": "fuzz@example.com"}]},
        "attributes": {"person": {"name": {"firstName": "Fuzz"}}, "tags": ["a", {"b": 1}]},
    }
    return {
        "POST /api/v1/profiles": [record, record],
        "POST /api/v1/connections": connection,
        "PATCH /api/v1/connections/{connection_id}": {"name": "x", "description": "y"},
        "POST /api/v1/dataflows": dataflow,
        "PATCH /api/v1/dataflows/{dataflow_id}": {"name": "x", "options": {}},
        "PATCH /api/v1/segments/{segment_id}": {
            "name": "x",
            "rule": {"path": "person.name.firstName", "op": "equals", "value": "Fuzz"},
        },
        **governance_bodies(),
    }


def governance_bodies() -> dict[str, Any]:
    policy = {"name": "P", "marketingAction": "analytics", "operator": "or", "labels": ["S2"]}
    consent = {
        "name": "C",
        "marketingActions": ["analytics"],
        "condition": {"path": "consents.marketing.email", "op": "equals", "value": True},
    }
    base = "/api/v1/governance"
    return {
        f"POST {base}/labels": {"code": "X1", "name": "X", "family": "contract"},
        f"POST {base}/marketingActions": {"code": "x", "name": "X"},
        f"PUT {base}/paths/{{path}}": {"labels": ["S3"]},
        f"PUT {base}/namespaces/{{namespace}}": {"labels": ["I1"]},
        f"POST {base}/policies": policy,
        f"PATCH {base}/policies/{{policy_id}}": policy,
        f"POST {base}/consentPolicies": consent,
        f"PATCH {base}/consentPolicies/{{policy_id}}": consent,
        f"POST {base}/evaluate": {"marketingActions": ["analytics"], "paths": ["person"]},
    }


def places(document: Any, trail: tuple = ()) -> list[tuple]:
    """Every place of a JSON document: ("value", keys...) and ("key", keys...)."""
    found = [("value", *trail)]
    if isinstance(document, dict):
        for key, child in document.items():
            found.append(("key", *trail, key))
            found.extend(places(child, (*trail, key)))
    elif isinstance(document, list):
        for index, child in enumerate(document):
            found.extend(places(child, (*trail, index)))
    return found


def with_hostile(document: Any, place: tuple, fragment: str) -> str:
    """document as JSON text with the raw fragment at place (a value, or a key's text)."""
    kind, *trail = place
    document = json.loads(json.dumps(document))
    if kind == "value" and not trail:
        return fragment
    parent = document
    for step in trail[:-1]:
        parent = parent[step]
    last = trail[-1]
    if kind == "value":
        parent[last] = SLOT
        return json.dumps(document).replace(f'"{SLOT}"', fragment)
    parent[SLOT] = parent.pop(last)
    # A key must be a JSON string: put the fragment's text inside the quotes.
    text = fragment[1:-1] if fragment.startswith('"') and fragment.endswith('"') else fragment
    return json.dumps(document).replace(f'"{SLOT}"', f'"{text}"')


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "parameters", "has_body"), OPERATIONS)
@settings(
    max_examples=HOSTILE_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(data=st.data())
def test_hostile_values_anywhere_get_a_4xx_in_the_error_format(
    client: Any,
    token: str,
    user: Any,
    method: str,
    path: str,
    parameters: list,
    has_body: bool,
    data: Any,
) -> None:
    from activation.models import Dataflow
    from destinations.models import Connection
    from profiles.models import Segment

    # A DELETE of an earlier example may have removed them: every example has its targets.
    connection = Connection.objects.filter(owner=user).first() or ConnectionFactory(owner=user)
    dataflow = Dataflow.objects.filter(connection=connection).first() or DataflowFactory(
        connection=connection
    )
    segment = Segment.objects.first() or SegmentFactory()
    ids = {
        "connection_id": str(connection.pk),
        "dataflow_id": str(dataflow.pk),
        "profile_id": "1",
        "spec_id": "kinesis",
        "segment_id": str(segment.pk),
    }
    url = path
    query: dict[str, str] = {}
    for name, where in parameters:
        hostile = data.draw(st.booleans(), label=f"hostile {name}")
        value = data.draw(hostile_texts, label=name) if hostile else ids.get(name, "1")
        if where == "path":
            url = url.replace(
                "{" + name + "}", quote(value.encode("utf-8", "surrogatepass"), safe="")
            )
        else:
            query[name] = value
    if query:
        url += "?" + urlencode(query, encoding="utf-8", errors="surrogatepass")
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}", "If-Match": "*"}}
    if has_body:
        base = valid_bodies(connection.pk, str(segment.pk))[f"{method} {path}"]
        place = data.draw(st.sampled_from(places(base)), label="place")
        body = with_hostile(base, place, data.draw(hostile_json, label="fragment"))
        kwargs.update(data=body.encode("utf-8", "surrogatepass"), content_type="application/json")
    response = client.generic(method, url, **kwargs)
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        answer = json.loads(response.content)
        assert set(answer["error"]) == {"code", "message", "fields"}, answer


# Text first (keys get only these), then numbers and nesting (1e400 is covered by the
# random fuzz above and tests/core/test_input_policy.py).
TEXT_BREAKERS = ['"x\\u0000y"', '"bad\\ud800name"', "NaN", "9" * 5000, "[" * 200 + "]" * 200]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, _, has_body in OPERATIONS if has_body]
)
def test_every_place_of_every_body_refuses_what_cannot_be_stored(
    client: Any, token: str, user: Any, method: str, path: str
) -> None:
    """Systematic, not random: each breaker at each value and key of a valid body."""
    from activation.models import Dataflow
    from destinations.models import Connection
    from profiles.models import Segment

    connection = Connection.objects.get(owner=user)
    url = path.replace("{connection_id}", str(connection.pk)).replace(
        "{dataflow_id}", str(Dataflow.objects.get(connection=connection).pk)
    )
    base = valid_bodies(connection.pk, str(Segment.objects.get().pk))[f"{method} {path}"]
    if isinstance(base, list):
        base = base[0]  # one record: a bad one is a 400 (in a batch, a 207 for the rest)
    headers = {"Authorization": f"Bearer {token}", "If-Match": "*"}
    for place in places(base):
        # A key is text: only text breakers make it wrong ("NaN" is a fine key).
        for fragment in TEXT_BREAKERS[:2] if place[0] == "key" else TEXT_BREAKERS:
            body = with_hostile(base, place, fragment)
            response = client.generic(
                method,
                url,
                data=body.encode("utf-8", "surrogatepass"),
                content_type="application/json",
                headers=headers,
            )
            assert 400 <= response.status_code < 500, (place, fragment, response.content[:300])
            answer = json.loads(response.content)
            assert set(answer["error"]) == {"code", "message", "fields"}, answer


@pytest.mark.parametrize(
    ("method", "path", "parameters"),
    [(m, p, params) for m, p, params, _ in OPERATIONS if any(w == "query" for _, w in params)],
)
def test_every_query_parameter_refuses_what_cannot_be_stored(
    client: Any, token: str, method: str, path: str, parameters: list
) -> None:
    url = path.replace("{dataflow_id}", "1")
    for name in (name for name, where in parameters if where == "query"):
        for value in ("x\x00y", "\ud800", "9" * 5000):
            query = urlencode({name: value}, encoding="utf-8", errors="surrogatepass")
            response = client.generic(
                method, f"{url}?{query}", headers={"Authorization": f"Bearer {token}"}
            )
            # A lone surrogate's bytes are invalid UTF-8, read as U+FFFD: a fine value.
            assert response.status_code < 500, (name, value, response.content[:300])
            if "\x00" in value:
                answer = json.loads(response.content)
                assert response.status_code == 400
                assert "NUL" in answer["error"]["fields"][name], answer
