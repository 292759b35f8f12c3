"""Connections created through the API declare their marketing actions (default: export
to third party)."""

import pytest

from tests.api.conftest import access_key_connection
from tests.destinations.conftest import (  # noqa: F401 - fixtures
    _fresh_aws_state,
    aws,
    owner_kinesis,
    stream,
)
from tests.governance.test_api import marketer_api  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stream")]


def test_a_new_connection_declares_export_to_third_party_unless_told(marketer_api):  # noqa: F811
    default = marketer_api.post("/api/v1/connections", access_key_connection())
    assert default.status == 201, default.body
    assert default.body["marketingActions"] == ["export_to_third_party"]
    chosen = marketer_api.post(
        "/api/v1/connections",
        {**access_key_connection(name="Mail"), "marketingActions": ["email_targeting"]},
    )
    assert chosen.body["marketingActions"] == ["email_targeting"]
    unknown = marketer_api.post(
        "/api/v1/connections", {**access_key_connection(name="X"), "marketingActions": ["nope"]}
    )
    assert unknown.status == 400 and "marketingActions" in unknown.error["fields"]
