"""The API's answer for a dataflow someone is editing in the wizard: 409 saying
who, since when and how to take over; takeOver and DELETE .../edit do it."""

from typing import Any

import pytest

from activation import services as wizard
from activation.models import Dataflow, EditHandover
from tests.api.test_dataflows import create
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_edit(api: Any, user: Any) -> Dataflow:
    connection = ConnectionFactory(owner=user, name="Orders")
    created = create(api, connection, (SegmentFactory(), SegmentFactory()))
    live = Dataflow.objects.get(pk=created["id"])
    alice = UserFactory(username="alice")
    return wizard.dataflow_edit_start(dataflow=live, user=alice)


def test_patch_while_someone_edits_says_who_since_when_and_how(api: Any, alices_edit: Dataflow):
    path = f"/api/v1/dataflows/{alices_edit.edit_of_id}"
    answer = api.patch(path, {"name": "X"}, etag=api.get(path).body["etag"])
    assert (answer.status, answer.error["code"]) == (409, "edit_in_progress")
    message = answer.error["message"]
    since = alices_edit.created_at.isoformat().replace("+00:00", "Z")
    assert "alice has been editing this dataflow" in message and since in message
    assert '"takeOver": true' in message and f"DELETE {path}/edit" in message
    assert "takeOver" in answer.error["fields"]


def test_take_over_discards_the_wizard_edit_applies_the_patch_and_tells_the_editor(
    api: Any, alices_edit: Dataflow
):
    path = f"/api/v1/dataflows/{alices_edit.edit_of_id}"
    etag = api.get(path).body["etag"]
    answer = api.patch(path, {"name": "Renamed", "takeOver": True}, etag=etag)
    assert answer.status == 200, answer.body
    assert answer.body["name"] == "Renamed"
    assert not Dataflow.objects.filter(pk=alices_edit.pk).exists()
    notice = EditHandover.objects.get(previous_editor__username="alice")
    assert notice.action == "discarded"


def test_delete_of_the_edit_frees_the_dataflow(api: Any, alices_edit: Dataflow):
    path = f"/api/v1/dataflows/{alices_edit.edit_of_id}"
    assert api.delete(f"{path}/edit").status == 204
    assert not Dataflow.objects.filter(pk=alices_edit.pk).exists()
    answer = api.patch(path, {"name": "Free"}, etag=api.get(path).body["etag"])
    assert answer.status == 200
    assert api.delete("/api/v1/dataflows/999999/edit").status == 404
