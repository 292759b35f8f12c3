"""Fixtures for the REST API v1 tests: tokens per role, a JSON client, in-process moto."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from core.models import ApiToken
from core.roles import VIEWER
from tests.destinations.conftest import (  # noqa: F401 - fixtures shared with the wizard's tests
    KEY_ID,
    REGION,
    SECRET,
    STREAM,
    _fresh_aws_state,
    aws,
    owner_kinesis,
    stream,
)
from tests.e2e.conftest import (  # noqa: F401 - a local Kinesis endpoint and a worker using it
    celery_worker_process,
    e2e_kinesis_server,
    kinesis,
)
from tests.factories import UserFactory


@dataclass
class Answer:
    status: int
    body: Any
    headers: Any

    @property
    def error(self) -> dict:
        assert set(self.body) >= {"error"}, self.body
        assert set(self.body["error"]) == {"code", "message", "fields"}, self.body
        return self.body["error"]


class ApiClient:
    """The Django test client speaking JSON with a bearer token."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Answer:
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = self.client.generic(method, path, **kwargs)
        content = response.content
        return Answer(
            status=response.status_code,
            body=json.loads(content) if content else None,
            headers=response.headers,
        )

    def get(self, path: str, **headers: str) -> Answer:
        return self.call("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Answer:
        return self.call("POST", path, body if body is not None else {}, **headers)

    def patch(self, path: str, body: Any, *, etag: str | None = None) -> Answer:
        return self.call("PATCH", path, body, **({"If-Match": etag} if etag else {}))

    def delete(self, path: str, *, etag: str | None = None) -> Answer:
        return self.call("DELETE", path, **({"If-Match": etag} if etag else {}))


@pytest.fixture
def api(client: Any, user: Any) -> ApiClient:
    """A Marketer's API client (the `user` fixture is a Marketer)."""
    _, token = ApiToken.issue(user=user, name="tests")
    return ApiClient(client, token)


@pytest.fixture
def viewer_api(client: Any, db: Any) -> ApiClient:
    _, token = ApiToken.issue(user=UserFactory(username="api-viewer", role=VIEWER))
    return ApiClient(client, token)


@pytest.fixture
def anonymous_api(client: Any) -> ApiClient:
    return ApiClient(client, None)


def access_key_connection(name: str = "Orders", stream_name: str = STREAM, **params: Any) -> dict:
    """A POST /connections body with access keys."""
    return {
        "name": name,
        "description": "Orders of the web shop",
        "connectionSpec": {"id": "kinesis", "version": "1.0"},
        "auth": {
            "specName": "Access Key",
            "params": {"accessKeyId": KEY_ID, "secretKey": SECRET, "region": REGION},
        },
        "params": {"stream": stream_name, "includeSegmentNames": True, **params},
    }
