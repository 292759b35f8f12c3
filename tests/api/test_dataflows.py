"""POST/GET/PATCH/DELETE /api/v1/dataflows and GET /api/v1/dataflows/{id}/runs."""

import datetime as dt

import pytest
from django.utils import timezone

from activation import services as wizard
from activation.models import Backfill, Dataflow, DataflowStatus
from profiles.models import IdentityNamespace
from tests.factories import ConnectionFactory, ExportRunFactory, SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(user):
    return ConnectionFactory(owner=user, name="Orders")


@pytest.fixture
def segments():
    return SegmentFactory(name="Buyers"), SegmentFactory(name="Churners")


def body(connection, segments, **changes):
    payload = {
        "name": "Newsletter",
        "connectionId": connection.pk,
        "segmentSelectors": {
            "selectors": [{"type": "PLATFORM_SEGMENT", "value": {"id": str(segments[0].pk)}}]
        },
        "profileSelectors": {
            "selectors": [
                {"type": "JSON_PATH", "value": {"path": "person.name.firstName"}},
                {
                    "type": "JSON_PATH",
                    "value": {"path": "personalEmail.address", "targetPath": "email"},
                },
            ]
        },
        "identitySelectors": {"selectors": [{"namespace": "email", "hashed": True}]},
        "partitionKey": {"source": "email"},
        "options": {"exportOnlyOnValueChange": False},
    }
    payload.update(changes)
    return payload


def create(api, connection, segments, **changes):
    answer = api.post("/api/v1/dataflows", body(connection, segments, **changes))
    assert answer.status == 201, answer.body
    return answer.body


def test_it_creates_and_activates_a_dataflow(api, user, connection, segments):
    created = create(api, connection, segments)
    assert created["state"] == "enabled"
    assert created["connectionId"] == connection.pk
    (segment,) = created["segmentSelectors"]["selectors"]
    assert segment["value"]["id"] == str(segments[0].pk)
    assert segment["value"]["name"] == "Buyers"
    paths = [
        (s["value"]["path"], s["value"]["targetPath"])
        for s in created["profileSelectors"]["selectors"]
    ]
    assert paths == [
        ("person.name.firstName", "person.name.firstName"),
        ("personalEmail.address", "email"),
    ]
    assert created["identitySelectors"]["selectors"] == [
        {"namespace": "email", "hashed": True, "exportedAs": "email_lc_sha256"}
    ]
    assert created["partitionKey"] == {"source": "email"}
    assert created["createdBy"] == user.username
    assert created["_links"]["runs"] == f"/api/v1/dataflows/{created['id']}/runs"
    # Activating a segment exports its current members first.
    assert Backfill.objects.filter(dataflow_id=created["id"], segment=segments[0]).exists()
    assert not Dataflow.objects.filter(status="draft").exists()


def test_it_can_start_disabled(api, connection, segments):
    assert create(api, connection, segments, state="disabled")["state"] == "disabled"


def test_identities_default_to_every_namespace(api, connection, segments):
    for code in ("ecid", "email"):
        IdentityNamespace.objects.get_or_create(code=code, defaults={"name": code})
    payload = body(connection, segments)
    del payload["identitySelectors"]
    del payload["partitionKey"]
    answer = api.post("/api/v1/dataflows", payload)
    assert answer.status == 201, answer.body
    namespaces = [s["namespace"] for s in answer.body["identitySelectors"]["selectors"]]
    assert namespaces == sorted(IdentityNamespace.objects.values_list("code", flat=True))
    assert {"ecid", "email"} <= set(namespaces)
    assert answer.body["partitionKey"]["source"]  # the wizard's default


def test_more_than_50_attributes_is_a_warning(api, connection, segments):
    selectors = [{"type": "JSON_PATH", "value": {"path": f"custom.field{i}"}} for i in range(51)]
    created = create(api, connection, segments, profileSelectors={"selectors": selectors})
    assert "51 attributes" in created["warnings"][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"connectionId": 999999}, "connectionId"),
        (
            {
                "segmentSelectors": {
                    "selectors": [{"value": {"id": "7841ba61-23c1-4bb3-a495-00d3a5fe1e93"}}]
                }
            },
            "segmentSelectors",
        ),
        ({"segmentSelectors": {"selectors": []}}, "segmentSelectors.selectors"),
        (
            {"segmentSelectors": {"selectors": [{"value": {"id": "not-a-uuid"}}]}},
            "segmentSelectors.selectors[0].value.id",
        ),
        (
            {"profileSelectors": {"selectors": [{"value": {"path": "bad path!"}}]}},
            "profileSelectors.selectors[0].value",
        ),
        (
            {
                "profileSelectors": {
                    "selectors": [{"value": {"path": "a.b", "targetPath": "identityMap"}}]
                }
            },
            "profileSelectors.selectors[0].value",
        ),
        (
            {"profileSelectors": {"selectors": []}, "identitySelectors": {"selectors": []}},
            "profileSelectors",
        ),
        ({"partitionKey": {"source": "no spaces"}}, "partitionKey"),
        ({"state": "error"}, "state"),
        ({"name": ""}, "name"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, connection, segments, changes, field):
    answer = api.post("/api/v1/dataflows", body(connection, segments, **changes))
    assert answer.status == 400, answer.body
    assert field in answer.error["fields"], answer.error
    assert not Dataflow.objects.exists()  # nothing half-made is left behind


def test_list_filters_and_read(api, connection, segments):
    first = create(api, connection, segments)
    other = ConnectionFactory(name="Other")
    second = create(api, other, segments, name="Second")
    listed = api.get(f"/api/v1/dataflows?connectionId={connection.pk}").body
    assert [d["id"] for d in listed["items"]] == [first["id"]]
    assert api.get("/api/v1/dataflows?state=disabled").body["items"] == []
    assert api.get("/api/v1/dataflows").body["_page"]["count"] == 2
    read = api.get(f"/api/v1/dataflows/{second['id']}")
    assert read.body["name"] == "Second"
    assert read.headers["ETag"] == second["etag"]
    assert api.get("/api/v1/dataflows/999999").status == 404
    assert api.get("/api/v1/dataflows?state=bogus").status == 400


def test_patch_needs_if_match_and_refuses_a_stale_etag(api, connection, segments):
    created = create(api, connection, segments)
    path = f"/api/v1/dataflows/{created['id']}"
    missing = api.patch(path, {"name": "Renamed"})
    assert (missing.status, missing.error["code"]) == (428, "precondition_required")
    first = api.patch(path, {"name": "Renamed"}, etag=created["etag"])
    assert first.status == 200, first.body
    assert first.headers["ETag"] == first.body["etag"] != created["etag"]
    # A second client that read the same version is refused, nothing is overwritten.
    second = api.patch(path, {"name": "Mine"}, etag=created["etag"])
    assert (second.status, second.error["code"]) == (412, "precondition_failed")
    assert api.get(path).body["name"] == "Renamed"


def test_patch_segments_backfills_the_new_one(api, connection, segments):
    created = create(api, connection, segments)
    ids = [{"value": {"id": str(s.pk)}} for s in segments]
    answer = api.patch(
        f"/api/v1/dataflows/{created['id']}",
        {"segmentSelectors": {"selectors": ids}},
        etag=created["etag"],
    )
    assert answer.status == 200, answer.body
    names = [s["value"]["name"] for s in answer.body["segmentSelectors"]["selectors"]]
    assert names == ["Buyers", "Churners"]
    assert Backfill.objects.filter(dataflow_id=created["id"], segment=segments[1]).exists()
    assert Dataflow.objects.count() == 1  # the edit copy is gone


def test_patch_mapping_keeps_what_is_not_sent(api, connection, segments):
    created = create(api, connection, segments)
    answer = api.patch(
        f"/api/v1/dataflows/{created['id']}",
        {"partitionKey": {"source": "profile_id"}, "options": {"exportOnlyOnValueChange": True}},
        etag=created["etag"],
    )
    assert answer.status == 200, answer.body
    assert answer.body["partitionKey"] == {"source": "profile_id"}
    assert answer.body["options"] == {"exportOnlyOnValueChange": True}
    assert answer.body["profileSelectors"] == created["profileSelectors"]
    assert answer.body["identitySelectors"] == created["identitySelectors"]


def test_patch_state_disables_and_enables(api, user, connection, segments):
    created = create(api, connection, segments)
    path = f"/api/v1/dataflows/{created['id']}"
    disabled = api.patch(path, {"state": "disabled"}, etag=created["etag"])
    assert disabled.body["state"] == "disabled"
    enabled = api.patch(path, {"state": "enabled"}, etag=disabled.body["etag"])
    assert enabled.body["state"] == "enabled"


def test_patch_refuses_a_new_connection_and_bad_selectors(api, connection, segments):
    created = create(api, connection, segments)
    path = f"/api/v1/dataflows/{created['id']}"
    moved = api.patch(path, {"connectionId": ConnectionFactory().pk}, etag=created["etag"])
    assert moved.status == 400 and "connectionId" in moved.error["fields"]
    bad = api.patch(
        path,
        {"profileSelectors": {"selectors": [{"value": {"path": "x..y"}}]}},
        etag=created["etag"],
    )
    assert bad.status == 400
    assert "profileSelectors.selectors[0].value" in bad.error["fields"]
    assert api.get(path).body["etag"] == created["etag"]  # nothing changed


def test_patch_while_the_wizard_edits_it_is_a_conflict(api, user, connection, segments):
    created = create(api, connection, segments)
    wizard.dataflow_edit_start(dataflow=Dataflow.objects.get(pk=created["id"]), user=user)
    answer = api.patch(f"/api/v1/dataflows/{created['id']}", {"name": "X"}, etag=created["etag"])
    assert (answer.status, answer.error["code"]) == (409, "edit_in_progress")


def test_delete(api, connection, segments):
    created = create(api, connection, segments)
    path = f"/api/v1/dataflows/{created['id']}"
    assert api.delete(path, etag='"old"').status == 412
    assert api.delete(path).status == 204
    assert api.get(path).status == 404
    assert api.delete(path).status == 404


def test_runs_newest_first_with_filters(api, connection, segments):
    created = create(api, connection, segments)
    dataflow = Dataflow.objects.get(pk=created["id"])
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    ok = ExportRunFactory(
        dataflow=dataflow, window_start=now, status="success", identities_failed=0
    )
    failed = ExportRunFactory(
        dataflow=dataflow, window_start=now - dt.timedelta(hours=1), status="failed"
    )
    ExportRunFactory(dataflow=dataflow, window_start=now - dt.timedelta(days=10), status="success")
    runs = api.get(f"/api/v1/dataflows/{dataflow.pk}/runs").body
    assert [r["id"] for r in runs["items"]][:2] == [ok.pk, failed.pk]
    assert runs["_page"]["count"] == 3
    first = runs["items"][0]
    assert first["metrics"] == {
        "profilesReceived": 100,
        "identitiesActivated": 98,
        "identitiesExcluded": 1,
        "identitiesFailed": 0,
        "deliveredAfterRetries": 0,
        "activationRate": 0.99,
    }
    assert first["durationMs"] == 1200
    week = api.get(f"/api/v1/dataflows/{dataflow.pk}/runs?period=7d").body
    assert week["_page"]["count"] == 2
    failures = api.get(f"/api/v1/dataflows/{dataflow.pk}/runs?failuresOnly=true").body
    assert [r["id"] for r in failures["items"]] == [failed.pk]
    assert api.get("/api/v1/dataflows/999999/runs").status == 404
    assert api.get(f"/api/v1/dataflows/{dataflow.pk}/runs?limit=0").status == 400


def test_a_viewer_reads_but_cannot_write(api, viewer_api, connection, segments):
    created = create(api, connection, segments)
    path = f"/api/v1/dataflows/{created['id']}"
    assert viewer_api.get(path).status == 200
    assert viewer_api.get(f"{path}/runs").status == 200
    for answer in (
        viewer_api.post("/api/v1/dataflows", body(connection, segments, name="Mine")),
        viewer_api.patch(path, {"state": "disabled"}, etag=created["etag"]),
        viewer_api.delete(path),
    ):
        assert (answer.status, answer.error["code"]) == (403, "forbidden")
    assert api.get(path).body["state"] == "enabled"


def test_list_filters_dataflows_stopped_by_a_policy(api, connection, segments):
    stopped = create(api, connection, segments)
    create(api, connection, segments, name="Still going")
    Dataflow.objects.filter(pk=stopped["id"]).update(status=DataflowStatus.POLICY_VIOLATION)
    listed = api.get("/api/v1/dataflows?state=policy_violation").body["items"]
    assert [d["id"] for d in listed] == [stopped["id"]]
    assert listed[0]["state"] == "policy_violation"
