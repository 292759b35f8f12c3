"""Done when "a script can set up a connection and a dataflow through the API alone
and see its runs": this test is that script, speaking HTTP (requests) to a live
server, with a real Celery worker exporting to a local Kinesis endpoint (moto
server). Only the segment definition is made outside the API (the API has no
segment builder; segments come from the UI)."""

import time

import pytest
import requests

from core.models import ApiToken
from profiles.models import IdentityNamespace
from profiles.segments import segment_create
from tests.e2e.conftest import STREAM
from tests.support.local_kinesis import ANY_KEY

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Script:
    """What a customer's automation does: plain HTTP with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response


def test_a_script_sets_up_a_connection_and_a_dataflow_and_sees_its_runs(
    live_server, user, kinesis, celery_worker_process
):
    for code in ("ecid", "email", "crmid"):
        IdentityNamespace.objects.get_or_create(code=code, defaults={"name": code})
    segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    script = Script(live_server.url, ApiToken.issue(user=user, name="automation")[1])

    spec = script.call("GET", "/connectionSpecs", 200).json()["items"][0]
    assert spec["id"] == "kinesis"
    connection = script.call(
        "POST",
        "/connections",
        201,
        json={
            "name": "Orders stream",
            "connectionSpec": {"id": spec["id"]},
            "auth": {
                "specName": "Access Key",
                "params": {
                    "accessKeyId": ANY_KEY[0],
                    "secretKey": ANY_KEY[1],
                    "region": "us-east-1",
                },
            },
            "params": {"stream": STREAM, "includeSegmentNames": True},
        },
    ).json()
    assert connection["permissionCheck"]["ok"] is True, connection["permissionCheck"]

    records = [
        {
            "identityMap": {"email": [{"id": f"g{n}@example.com"}], "crmid": [{"id": f"crm-{n}"}]},
            "attributes": {
                "loyalty": {"tier": "gold"},
                "person": {"name": {"firstName": f"Gold {n}"}},
            },
        }
        for n in range(5)
    ]
    script.call("POST", "/profiles", 200, json=records)

    segments = script.call("GET", "/segments", 200, params={"q": "Gold"}).json()["items"]
    gold = next(s for s in segments if s["name"] == "Gold")
    dataflow = script.call(
        "POST",
        "/dataflows",
        201,
        json={
            "name": "Gold to Kinesis",
            "connectionId": connection["id"],
            "segmentSelectors": {
                "selectors": [{"type": "PLATFORM_SEGMENT", "value": {"id": gold["id"]}}]
            },
            "profileSelectors": {
                "selectors": [{"type": "JSON_PATH", "value": {"path": "person.name.firstName"}}]
            },
            "identitySelectors": {"selectors": [{"namespace": "crmid"}]},
            "partitionKey": {"source": "crmid"},
        },
    ).json()
    assert dataflow["state"] == "enabled"

    deadline = time.monotonic() + 90
    activated = 0
    while time.monotonic() < deadline and activated < 5:
        runs = script.call("GET", f"/dataflows/{dataflow['id']}/runs", 200).json()["items"]
        activated = sum(run["metrics"]["identitiesActivated"] for run in runs)
        time.sleep(0.5)
    assert activated == 5, runs
    assert runs[0]["status"] in ("success", "processing")
    assert {e.partition_key for e in kinesis.read_stream(STREAM)} == {f"crm-{n}" for n in range(5)}
