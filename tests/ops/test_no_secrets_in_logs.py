"""Nothing secret and no profile attribute value in the logs of a connect and an export."""

import io
import json
import logging

import pytest

from core.observability.logging import ContextFilter, JsonFormatter
from tests.api.conftest import ApiClient, access_key_connection
from tests.destinations.conftest import (  # noqa: F401 - in-process AWS (moto)
    SECRET,
    _fresh_aws_state,
    aws,
    owner_kinesis,
    read_stream,
    stream,
)

ATTRIBUTE_VALUE = "Zanzibar-Quokka-7731"


@pytest.fixture
def log_output():
    """Everything logged at INFO and above, as production writes it (JSON lines)."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.django_db
def test_no_secret_or_attribute_value_is_logged_by_a_connect_and_an_export(
    client, user, log_output, settings, request
):
    stream_name = request.getfixturevalue("stream")
    kinesis = request.getfixturevalue("owner_kinesis")
    from activation.export.services import dataflow_run
    from core.models import ApiToken
    from profiles.models import Segment

    settings.CELERY_TASK_ALWAYS_EAGER = False
    _, token = ApiToken.issue(user=user, name="ops")
    api = ApiClient(client, token)
    segment = Segment.objects.create(
        name="Everyone", rule={"op": "exists", "path": "personalEmail.address"}
    )
    connected = api.post("/api/v1/connections", access_key_connection(stream_name=stream_name))
    assert connected.status == 201, connected.body
    ingested = api.post(
        "/api/v1/profiles",
        {
            "identityMap": {"email": [{"id": "quokka@example.com"}]},
            "attributes": {
                "person": {"name": {"firstName": ATTRIBUTE_VALUE}},
                "personalEmail": {"address": "quokka@example.com"},
            },
        },
    )
    assert ingested.status == 200, ingested.body
    created = api.post(
        "/api/v1/dataflows",
        {
            "name": "Quokkas",
            "connectionId": connected.body["id"],
            "segmentSelectors": {
                "selectors": [{"type": "PLATFORM_SEGMENT", "value": {"id": str(segment.pk)}}]
            },
            "profileSelectors": {
                "selectors": [{"type": "JSON_PATH", "value": {"path": "person.name.firstName"}}]
            },
            "identitySelectors": {"selectors": [{"namespace": "email", "hashed": True}]},
        },
    )
    assert created.status == 201, created.body
    report = dataflow_run(dataflow_id=created.body["id"])
    assert report.delivered == 1, report

    records = read_stream(kinesis, stream_name)
    assert ATTRIBUTE_VALUE in json.dumps(records, default=str), (
        "the value did travel (so the scan can fail)"
    )
    output = log_output.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert any(line.get("dataflow_id") == created.body["id"] for line in lines)
    assert any(line.get("request_id") for line in lines)
    assert SECRET not in output
    assert ATTRIBUTE_VALUE not in output
    assert "quokka@example.com" not in output
