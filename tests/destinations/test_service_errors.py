"""Connection services refuse with errors that name their field (core.service_errors):
the UI puts them next to the field, the API names the field in its answer."""

from __future__ import annotations

from typing import Any

import pytest

from core.service_errors import ServiceError
from destinations import services
from destinations.kinesis import aws as kinesis
from destinations.models import ConnectionDraft
from tests.factories import ConnectionFactory, DataflowFactory

pytestmark = pytest.mark.django_db

DETAILS = {
    "description": "",
    "stream_name": "demo-stream",
    "include_segment_names": True,
    "include_segment_timestamps": False,
    "alerts_enabled": True,
}


def test_a_name_taken_meanwhile_is_a_conflict_on_the_name(user: Any) -> None:
    # The form checks the name first; this is the race the database still catches.
    ConnectionFactory(owner=user, name="Orders")
    draft = ConnectionDraft.objects.create(owner=user, region="us-east-1")
    with pytest.raises(ServiceError) as taken:
        services.connection_create_from_draft(draft=draft, name="Orders", **DETAILS)
    assert (taken.value.field, taken.value.code) == ("name", "conflict")
    assert ConnectionDraft.objects.filter(pk=draft.pk).exists()  # kept: fix the name, retry


def test_a_connection_in_use_is_a_conflict_about_no_one_field(user: Any) -> None:
    connection = ConnectionFactory(owner=user)
    DataflowFactory(connection=connection, name="VIP buyers")
    with pytest.raises(services.ConnectionInUse) as in_use:
        services.connection_delete(connection=connection)
    assert (in_use.value.field, in_use.value.code) == (None, "conflict")


@pytest.mark.parametrize(
    ("refusal", "field"),
    [
        (kinesis.BadCredentials("wrong", kind="wrong_secret"), "secret_access_key"),
        (kinesis.InvalidRegion("bad region"), "region"),
        (kinesis.AccessDenied("no", action="sts:AssumeRole"), "role_arn"),
        (kinesis.AccessDenied("no", action="kinesis:ListStreams"), None),
    ],
)
def test_an_aws_refusal_names_the_credential_it_is_about(refusal: Any, field: Any) -> None:
    assert services.refused_field(refusal) == field
