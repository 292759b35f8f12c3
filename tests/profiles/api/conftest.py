import json
from typing import Any

import pytest

from core.models import ApiToken


class ApiClient:
    """The Django test client with a bearer token and JSON bodies."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None, **kw: Any):
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            path, data=data, content_type="application/json", headers=self.headers, **kw
        )

    def get(self, path: str, **kw: Any):
        return self.client.get(path, headers=self.headers, **kw)

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers)


@pytest.fixture
def token(user) -> str:
    return ApiToken.issue(user=user, name="tests")[1]


@pytest.fixture
def api(client, token) -> ApiClient:
    return ApiClient(client, token)
