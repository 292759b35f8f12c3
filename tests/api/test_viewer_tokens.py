"""The API applies the roles too: a Viewer's token is refused every write, on every
operation the OpenAPI document lists (new endpoints are covered automatically)."""

import re

import pytest

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch", "delete"}


def write_operations(client):
    document = client.get("/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        for method in item:
            if method in WRITES:
                yield method.upper(), re.sub(r"\{[^}]+\}", "1", path)


def test_a_viewer_token_gets_403_on_every_write(client, viewer_api):
    operations = list(write_operations(client))
    assert ("POST", "/api/v1/dataflows") in operations
    assert ("PATCH", "/api/v1/connections/1") in operations
    for method, path in operations:
        answer = viewer_api.call(method, path, {})
        assert answer.status == 403, (method, path, answer.status, answer.body)
        assert answer.error["code"] == "forbidden"


def test_a_marketer_token_is_not_refused_by_role(api):
    answer = api.call("DELETE", "/api/v1/dataflows/999999")
    assert answer.status == 404
