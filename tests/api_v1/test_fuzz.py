"""Property-based fuzz of the REST API from its own OpenAPI document (schemathesis):
whatever a client sends, valid or not, the API never answers 5xx, and every
error answer uses the one error format.

Bounded for the suite: a few dozen examples per operation (under a minute).
Raise FUZZ_EXAMPLES to dig deeper, e.g. FUZZ_EXAMPLES=500 pytest tests/api_v1/test_fuzz.py.
"""

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from core.models import ApiToken
from tests.factories import ConnectionFactory, DataflowFactory, SegmentFactory

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
