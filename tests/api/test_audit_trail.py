"""Changes made through the API are in the audit log, by the token's user, "via API"."""

import json

import pytest

from audit.models import AuditEntry
from tests.api.conftest import SECRET, access_key_connection
from tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_api_change_is_audited(api, user, stream):
    segment = SegmentFactory(name="Buyers")
    connection = api.post("/api/v1/connections", access_key_connection()).body
    renamed = api.patch(
        f"/api/v1/connections/{connection['id']}", {"name": "Orders EU"}, etag=connection["etag"]
    ).body
    rotated = api.patch(
        f"/api/v1/connections/{connection['id']}",
        {"auth": {"params": {"secretKey": "rotated-secret-0123456789abcdefghij"}}},
        etag=renamed["etag"],
    )
    assert rotated.status == 200, rotated.body
    created = api.post(
        "/api/v1/dataflows",
        {
            "name": "Newsletter",
            "connectionId": connection["id"],
            "segmentSelectors": {"selectors": [{"value": {"id": str(segment.pk)}}]},
            "profileSelectors": {"selectors": [{"value": {"path": "person.name.firstName"}}]},
            "identitySelectors": {"selectors": [{"namespace": "email"}]},
            "partitionKey": {"source": "email"},
        },
    ).body
    path = f"/api/v1/dataflows/{created['id']}"
    edited = api.patch(path, {"name": "Newsletter v2"}, etag=created["etag"]).body
    disabled = api.patch(path, {"state": "disabled"}, etag=edited["etag"]).body
    enabled = api.patch(path, {"state": "enabled"}, etag=disabled["etag"]).body
    assert api.delete(path, etag=enabled["etag"]).status == 204
    assert api.delete(f"/api/v1/connections/{connection['id']}").status == 204

    log = [
        (e.object_type, e.action)
        for e in AuditEntry.objects.order_by("id")
        if e.object_type == "dataflow" or e.object_id == connection["id"]
    ]
    assert log == [
        ("connection", "created"),
        ("connection", "edited"),
        ("connection", "secret_rotated"),
        ("dataflow", "created"),
        ("dataflow", "edited"),
        ("dataflow", "disabled"),
        ("dataflow", "enabled"),
        ("dataflow", "deleted"),
        ("connection", "deleted"),
    ]
    entries = AuditEntry.objects.all()
    assert {(e.actor, e.via) for e in entries} == {(user, "api")}
    assert SECRET not in json.dumps([[e.before, e.after, e.changes] for e in entries])
    assert "rotated-secret" not in json.dumps([[e.before, e.after, e.changes] for e in entries])
