"""The API refuses a partition key the dataflow does not export, naming the field, and
its default key is an exported identity (activation.services.partition_key_error)."""

from typing import Any

import pytest

from tests.activation.wizard.conftest import member
from tests.api.test_dataflows import body
from tests.factories import ConnectionFactory, SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(user: Any) -> Any:
    return ConnectionFactory(owner=user, name="Orders")


@pytest.fixture
def segments(db: Any) -> tuple[Any]:
    """One segment whose members all have an ecid and an email."""
    segment = SegmentFactory(name="Buyers")
    for n in range(2):
        member(segment, identities={"ecid": f"ecid-{n}", "email": f"p{n}@example.com"})
    return (segment,)


def test_the_api_names_the_partition_key(api: Any, user: Any, connection: Any, segments):
    payload = body(
        connection,
        segments,
        identitySelectors={"selectors": [{"namespace": "ecid", "hashed": False}]},
        partitionKey={"source": "email"},
    )

    answer = api.post("/api/v1/dataflows", payload)

    assert answer.status == 400, answer.body
    assert list(answer.body["error"]["fields"]) == ["partitionKey"]
    assert "does not export" in answer.body["error"]["fields"]["partitionKey"]


def test_the_api_default_key_is_an_exported_identity(api: Any, connection: Any, segments):
    # Every member has ecid and email: the default would be ecid, which is not exported.
    payload = body(
        connection,
        segments,
        identitySelectors={"selectors": [{"namespace": "email", "hashed": True}]},
    )
    del payload["partitionKey"]

    answer = api.post("/api/v1/dataflows", payload)

    assert answer.status == 201, answer.body
    assert answer.body["partitionKey"] == {"source": "email"}
