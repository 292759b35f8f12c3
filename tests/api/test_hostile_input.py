"""Issue 15, points 1, 3 and 12 (API): hostile but parseable input is a 400 in the error
format naming the field, never a 500, and nothing unstorable is stored."""

import json
from typing import Any

import pytest
from django.db import OperationalError
from django.test.utils import CaptureQueriesContext

from core.models import ApiToken
from profiles.models import Profile
from tests.api.test_dataflows import body
from tests.factories import ConnectionFactory, SegmentFactory

pytestmark = pytest.mark.django_db
PROFILES = "/api/v1/profiles"


def raw_post(api: Any, path: str, text: str | bytes) -> Any:
    response = api.client.post(
        path,
        data=text,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    return response.status_code, response.json()


def record(attributes: str = "{}", email: str = '"ann@example.com"') -> str:
    return f'{{"identityMap": {{"email": [{{"id": {email}}}]}}, "attributes": {attributes}}}'


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (record('{"firstName": "bad\\ud800name"}'), "attributes.firstName", "lone surrogate"),
        (record('{"firstName": "x\\u0000y"}'), "attributes.firstName", "NUL"),
        (record('{"a\\u0000b": 1}'), "attributes.a\\u0000b", "NUL"),
        (record('{"n": NaN}'), "attributes.n", "finite"),
        (record('{"n": Infinity}'), "attributes.n", "finite"),
        (record('{"n": -Infinity}'), "attributes.n", "finite"),
        (record('{"n": 1e400}'), "attributes.n", "finite"),
        (record('{"n": ' + "7" * 5000 + "}"), "attributes.n", "digits"),
        (record('{"n": 18446744073709551616}'), "attributes.n", "outside"),
        (record('{"deep": ' + "[" * 200 + "]" * 200 + "}"), "attributes.deep", "deeper"),
        (record('{"a": ' * 200 + "1" + "}" * 200), "attributes", "deeper"),
        (record(email='"bad\\ud800@example.com"'), "identityMap.email[0].id", "lone surrogate"),
        (record(email='"x\\u0000y@example.com"'), "identityMap.email[0].id", "NUL"),
        (record(email='"not-an-address"'), "identityMap.email[0].id", "not an e-mail"),
        (record('{"list": [{"bad key": 1}]}'), "attributes.list[0].bad key", "attribute name"),
        (record(f'{{"s": "{"x" * 65_537}"}}'), "attributes.s", "at most 65,536"),
        (record("{" + '"l": [' + ",".join(["1"] * 1001) + "]}"), "attributes.l", "at most 1,000"),
        (
            record("{" + ",".join(f'"k{i}": {i}' for i in range(2001)) + "}"),
            "attributes",
            "at most 2,000",
        ),
        (record('{"%s": 1}' % ("k" * 101)), "attributes." + "k" * 101, "attribute name"),
    ],
)
def test_a_hostile_record_is_refused_naming_the_field(api, text, field, fragment):
    status, answer = raw_post(api, PROFILES, text)
    assert status == 400, answer
    error = answer["error"]
    assert set(error) == {"code", "message", "fields"}
    # Nesting is reported where it goes too deep, inside the named field.
    (_, problem), *_ = ((k, v) for k, v in error["fields"].items() if k.startswith(field))
    assert fragment in problem, error
    assert not Profile.objects.exists()


def test_in_a_batch_only_the_hostile_record_is_refused(api):
    text = "[" + record(email='"ok@example.com"') + "," + record('{"n": NaN}') + "]"
    status, answer = raw_post(api, PROFILES, text)
    assert status == 207
    assert [r["status"] for r in answer["results"]] == ["created", "error"]
    assert "finite" in answer["results"][1]["error"]["fields"]["attributes.n"]


def test_nesting_beyond_the_parser_is_a_400(api):
    status, answer = raw_post(api, PROFILES, "[" * 100_000 + "]" * 100_000)
    assert status == 400
    assert "deeper" in answer["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/profiles?identity=email:x%00y",
        "/api/v1/segments?q=%00",
        "/api/v1/dataflows?state=%00",
        "/api/v1/connections?limit=%00",
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(api, path):
    answer = api.get(path)
    assert answer.status == 400
    (field,) = answer.error["fields"]
    assert "NUL" in answer.error["fields"][field]
    assert field in {"identity", "q", "state", "limit"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "bad\x00name"}, "name"),
        ({"name": "bad\ud800name"}, "name"),
    ],
)
def test_dataflow_texts_are_checked_by_the_policy(api, user, change, field):
    connection, segment = ConnectionFactory(owner=user), SegmentFactory()
    payload = body(connection, (segment,), **change)
    status, answer = raw_post(api, "/api/v1/dataflows", json.dumps(payload))
    assert status == 400
    assert field in answer["error"]["fields"]


def test_connection_description_with_a_nul_is_refused(api):
    status, answer = raw_post(
        api, "/api/v1/connections", '{"name": "x", "description": "a\\u0000b"}'
    )
    assert status == 400
    assert "NUL" in answer["error"]["fields"]["description"]


def test_an_unregistered_namespace_in_a_dataflow_is_refused(api, user):
    connection, segment = ConnectionFactory(owner=user), SegmentFactory()
    payload = body(
        connection,
        (segment,),
        identitySelectors={"selectors": [{"namespace": "fax"}]},
        partitionKey={"source": "profile_id"},
    )
    answer = api.post("/api/v1/dataflows", payload)
    assert answer.status == 400, answer.body
    assert "fax" in answer.error["fields"]["identitySelectors"]
    assert "registered" in answer.error["fields"]["identitySelectors"]


def test_a_mapping_path_no_profile_can_hold_is_refused(api, user):
    connection, segment = ConnectionFactory(owner=user), SegmentFactory()
    for path in ("a:b", ".".join(["x"] * 13)):
        payload = body(
            connection,
            (segment,),
            profileSelectors={"selectors": [{"type": "JSON_PATH", "value": {"path": path}}]},
        )
        answer = api.post("/api/v1/dataflows", payload)
        assert answer.status == 400, answer.body
        assert "profileSelectors.selectors[0].value" in answer.error["fields"]


def test_reads_never_fail_on_the_token_note_and_write_it_once_a_minute(api, monkeypatch):
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/segments").status == 200
        assert api.get("/api/v1/segments").status == 200
    updates = [q for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    assert len(updates) == 1
    ApiToken.objects.update(last_used_at=None)

    def locked(*args: Any, **kwargs: Any) -> int:
        raise OperationalError("database is locked")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", locked)
    from django.core.cache import cache

    cache.clear()
    assert api.get("/api/v1/segments").status == 200
