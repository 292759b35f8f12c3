"""One error format everywhere, whatever goes wrong."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_endpoint(api):
    answer = api.get("/api/v1/flows")
    assert (answer.status, answer.error["code"]) == (404, "not_found")


@pytest.mark.parametrize("tail", ["nope\n", "governance/policies/\n", "x\r\ny", "%0A"])
def test_any_unknown_path_is_a_json_404_even_with_line_breaks(api, tail):
    answer = api.get(f"/api/v1/{tail}")
    assert (answer.status, answer.error["code"]) == (404, "not_found")


def test_wrong_method(api):
    answer = api.call("PUT", "/api/v1/connections")
    assert answer.status == 405
    assert answer.error["code"] == "method_not_allowed"


def test_malformed_json(api):
    response = api.client.post(
        "/api/v1/dataflows",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_a_bad_token(anonymous_api):
    anonymous_api.token = "sl_not-a-token"
    answer = anonymous_api.get("/api/v1/dataflows")
    assert (answer.status, answer.error["code"]) == (401, "unauthorized")


def test_wrong_types_name_the_field(api):
    answer = api.post("/api/v1/dataflows", {"name": 5, "connectionId": "x"})
    assert answer.status == 400
    assert {"name", "connectionId", "segmentSelectors"} <= set(answer.error["fields"])
