"""The named sets of dataflows (activation.models.DataflowQuerySet): each holds exactly
the rows its definition says, from one row of every kind."""

from __future__ import annotations

from typing import Any

import pytest

from activation.models import (
    CHANGE_LOG_READER_STATUSES,
    GOVERNED_STATUSES,
    RUNNABLE_STATUSES,
    Dataflow,
    DataflowQuerySet,
    DataflowStatus,
)
from tests.factories import ConnectionFactory, DataflowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows() -> dict[str, Dataflow]:
    """One dataflow of every status, a new draft and an edit copy, on one connection."""
    connection = ConnectionFactory()
    made = {
        status.value: DataflowFactory(connection=connection, status=status, name=status.value)
        for status in DataflowStatus
        if status != DataflowStatus.DRAFT
    }
    made["new_draft"] = DataflowFactory(connection=connection, status=DataflowStatus.DRAFT)
    made["edit_copy"] = DataflowFactory(
        connection=connection, status=DataflowStatus.DRAFT, edit_of=made["enabled"]
    )
    return made


def names(rows: dict[str, Dataflow], queryset: Any) -> set[str]:
    by_pk = {dataflow.pk: key for key, dataflow in rows.items()}
    return {by_pk[pk] for pk in queryset.values_list("pk", flat=True)}


FINISHED = {"enabled", "disabled", "error", "policy_violation"}


def test_live_is_every_finished_dataflow_in_any_status(rows: dict[str, Dataflow]) -> None:
    assert names(rows, Dataflow.objects.live()) == FINISHED


def test_drafts_are_new_drafts_and_edit_copies(rows: dict[str, Dataflow]) -> None:
    assert names(rows, Dataflow.objects.drafts()) == {"new_draft", "edit_copy"}
    assert names(rows, Dataflow.objects.new_drafts()) == {"new_draft"}
    assert names(rows, Dataflow.objects.edit_copies()) == {"edit_copy"}


def test_the_status_sets_hold_live_dataflows_of_their_statuses(rows: dict[str, Dataflow]) -> None:
    assert names(rows, Dataflow.objects.runnable()) == {"enabled", "error"}
    assert names(rows, Dataflow.objects.enabled()) == {"enabled"}
    assert names(rows, Dataflow.objects.change_log_readers()) == {"enabled", "error", "disabled"}
    assert names(rows, Dataflow.objects.governed()) == {"enabled", "error", "policy_violation"}
    assert set(RUNNABLE_STATUSES) < set(CHANGE_LOG_READER_STATUSES)
    assert set(RUNNABLE_STATUSES) < set(GOVERNED_STATUSES)


def test_an_edit_copy_is_never_live_whatever_its_status(rows: dict[str, Dataflow]) -> None:
    # Defensive: were an edit copy ever saved with a live status, it still is no dataflow.
    Dataflow.objects.filter(pk=rows["edit_copy"].pk).update(status=DataflowStatus.ENABLED)
    assert "edit_copy" not in names(rows, Dataflow.objects.live())
    assert "edit_copy" not in names(rows, Dataflow.objects.runnable())
    assert "edit_copy" not in names(rows, Dataflow.objects.enabled())


def test_the_sets_work_on_a_relation(rows: dict[str, Dataflow]) -> None:
    connection = rows["enabled"].connection
    assert names(rows, connection.dataflows.live()) == FINISHED
    assert names(rows, connection.dataflows.new_drafts()) == {"new_draft"}


def test_the_conditions_match_the_sets_through_a_relation(rows: dict[str, Dataflow]) -> None:
    from django.db.models import Count

    from destinations.models import Connection

    counted = Connection.objects.annotate(
        live=Count("dataflows", filter=DataflowQuerySet.live_q("dataflows__")),
        enabled=Count("dataflows", filter=DataflowQuerySet.enabled_q("dataflows__")),
    ).get(pk=rows["enabled"].connection_id)
    assert (counted.live, counted.enabled) == (len(FINISHED), 1)


def test_the_row_predicates_agree_with_the_sets(rows: dict[str, Dataflow]) -> None:
    live = set(Dataflow.objects.live().values_list("pk", flat=True))
    runnable = set(Dataflow.objects.runnable().values_list("pk", flat=True))
    drafts = set(Dataflow.objects.drafts().values_list("pk", flat=True))
    for dataflow in rows.values():
        assert dataflow.is_live == (dataflow.pk in live), dataflow.name
        assert dataflow.is_runnable == (dataflow.pk in runnable), dataflow.name
        assert dataflow.is_draft == (dataflow.pk in drafts), dataflow.name
