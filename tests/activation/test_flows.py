"""activation/flows.py: a whole dataflow written in one call, through the wizard's own
services, refusing with errors that name their field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from activation import flows, services
from activation.models import Dataflow, DataflowStatus
from activation.services import AttributeSpec, IdentitySpec
from core.service_errors import ServiceError
from tests.factories import ConnectionFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def new(db: Any) -> flows.NewDataflow:
    return flows.NewDataflow(
        name="Newsletter",
        connection_id=ConnectionFactory().pk,
        segment_ids=[SegmentFactory().pk],
        attributes=[AttributeSpec("person.name.firstName")],
        identities=[IdentitySpec("email", hashed=True)],
        partition_key="email",
    )


def test_create_walks_the_wizard_and_finishes(new: flows.NewDataflow) -> None:
    dataflow = flows.dataflow_create(user=UserFactory(), new=new)
    assert dataflow.status == DataflowStatus.ENABLED and dataflow.is_live
    assert [m.source_path for m in dataflow.attribute_mappings.all()] == ["person.name.firstName"]
    assert Dataflow.objects.drafts().count() == 0


def test_create_names_the_field_and_leaves_nothing_behind(new: flows.NewDataflow) -> None:
    from dataclasses import replace

    with pytest.raises(ServiceError) as missing:
        flows.dataflow_create(user=UserFactory(), new=replace(new, connection_id=10**9))
    assert (missing.value.field, missing.value.code) == ("connection", "invalid_input")
    with pytest.raises(ValidationError) as bad_key:
        flows.dataflow_create(user=UserFactory(), new=replace(new, partition_key="ecid"))
    assert list(bad_key.value.message_dict) == ["partition_key"]
    assert not Dataflow.objects.exists()


def test_update_refuses_a_new_connection_naming_it(new: flows.NewDataflow) -> None:
    user = UserFactory()
    dataflow = flows.dataflow_create(user=user, new=new)
    changes = flows.DataflowChanges(connection_id=ConnectionFactory().pk, name="Moved")
    with pytest.raises(ServiceError) as refused:
        flows.dataflow_update(user=user, dataflow_id=dataflow.pk, changes=changes)
    assert (refused.value.field, refused.value.code) == ("connection", "read_only")
    dataflow.refresh_from_db()
    assert dataflow.name == "Newsletter"


def test_update_applies_an_edit_copy_and_runs_the_precondition(new: flows.NewDataflow) -> None:
    user = UserFactory()
    dataflow = flows.dataflow_create(user=user, new=new)
    seen: list[int] = []
    changes = flows.DataflowChanges(name="Renamed", state="disabled", partition_key="profile_id")
    flows.dataflow_update(
        user=user,
        dataflow_id=dataflow.pk,
        changes=changes,
        precondition=lambda locked: seen.append(locked.pk),
    )
    dataflow.refresh_from_db()
    assert seen == [dataflow.pk]
    assert (dataflow.name, dataflow.status) == ("Renamed", DataflowStatus.DISABLED)
    assert dataflow.partition_key_source == "profile_id"
    assert Dataflow.objects.edit_copies().count() == 0


def test_update_of_a_draft_is_not_found(db: Any) -> None:
    draft = services.dataflow_draft_create(user=UserFactory(), connection=ConnectionFactory())
    with pytest.raises(ServiceError) as missing:
        flows.dataflow_update(
            user=draft.created_by, dataflow_id=draft.pk, changes=flows.DataflowChanges(name="x")
        )
    assert missing.value.code == "not_found"


def test_an_unfinished_wizard_edit_is_refused_unless_taken_over(new: flows.NewDataflow) -> None:
    owner, other = UserFactory(), UserFactory()
    dataflow = flows.dataflow_create(user=owner, new=new)
    services.dataflow_edit_start(dataflow=dataflow, user=other)
    with pytest.raises(services.EditInProgressError):
        flows.dataflow_update(
            user=owner, dataflow_id=dataflow.pk, changes=flows.DataflowChanges(name="Mine")
        )
    changes = flows.DataflowChanges(name="Mine", take_over=True)
    flows.dataflow_update(user=owner, dataflow_id=dataflow.pk, changes=changes)
    dataflow.refresh_from_db()
    assert dataflow.name == "Mine" and Dataflow.objects.edit_copies().count() == 0


def test_the_wizard_services_name_the_field_of_each_problem(db: Any) -> None:
    draft = services.dataflow_draft_create(user=UserFactory(), connection=ConnectionFactory())
    with pytest.raises(ValidationError) as unknown:
        services.dataflow_set_segments(dataflow=draft, segment_ids=[SegmentFactory.build().pk])
    assert list(unknown.value.message_dict) == ["segments"]
    with pytest.raises(ValidationError) as empty:
        services.dataflow_set_mapping(
            dataflow=draft, attributes=[], identities=[], partition_key_source="no spaces"
        )
    assert list(empty.value.message_dict) == ["attributes", "partition_key"]
    with pytest.raises(services.WizardIncompleteError) as incomplete:
        services.dataflow_finish(dataflow=draft, user=draft.created_by, name="x")
    assert incomplete.value.field == "segments"
