"""The wizard's steps and their "complete" predicates, computed from the draft."""

from typing import Any

import pytest

from activation import services
from activation.services import AttributeSpec, IdentitySpec
from activation.wizard_steps import (
    Step,
    blocking_step,
    first_incomplete_step,
    resume_step,
    step_complete,
    step_states,
)

pytestmark = pytest.mark.django_db


def test_a_fresh_draft_without_connection_starts_at_the_destination(user: Any) -> None:
    draft = services.dataflow_draft_create(user=user)
    assert first_incomplete_step(draft) == Step.DESTINATION
    assert not step_complete(draft, Step.DESTINATION)
    assert resume_step(draft) == Step.DESTINATION


def test_a_draft_entered_from_a_connection_continues_at_segments(
    user: Any, connection: Any
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    assert step_complete(draft, Step.DESTINATION)
    assert first_incomplete_step(draft) == Step.SEGMENTS


def test_segments_complete_once_one_is_mapped(user: Any, connection: Any, two_segments) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[two_segments[0].id])
    assert step_complete(draft, Step.SEGMENTS)
    assert first_incomplete_step(draft) == Step.MAPPING
    services.dataflow_set_segments(dataflow=draft, segment_ids=[])
    assert not step_complete(draft, Step.SEGMENTS)


def test_mapping_is_complete_only_once_saved(user: Any, connection: Any, two_segments) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[two_segments[0].id])
    # The default partition key alone does not count: defaults are offered, not stored.
    assert not step_complete(draft, Step.MAPPING)
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[],
        identities=[IdentitySpec("email", hashed=True)],
        partition_key_source="email",
    )
    assert step_complete(draft, Step.MAPPING)
    assert first_incomplete_step(draft) is None
    assert resume_step(draft) == Step.REVIEW


def test_a_skipped_step_is_reported_as_blocking(user: Any, connection: Any) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    assert blocking_step(draft, Step.SEGMENTS) is None
    assert blocking_step(draft, Step.MAPPING) == Step.SEGMENTS
    assert blocking_step(draft, Step.REVIEW) == Step.SEGMENTS
    # Going back is always allowed.
    assert blocking_step(draft, Step.DESTINATION) is None


def test_step_states_mark_done_current_and_reachable(
    user: Any, connection: Any, two_segments
) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    services.dataflow_set_segments(dataflow=draft, segment_ids=[s.id for s in two_segments])
    services.dataflow_set_mapping(
        dataflow=draft,
        attributes=[AttributeSpec("person.name.firstName")],
        identities=[],
        partition_key_source="profile_id",
    )
    states = {s.step: s for s in step_states(draft, Step.MAPPING)}
    assert states[Step.MAPPING].current
    assert all(states[s].done for s in (Step.DESTINATION, Step.SEGMENTS, Step.MAPPING))
    assert not states[Step.REVIEW].done
    assert all(s.reachable for s in states.values())


def test_steps_after_an_incomplete_one_are_not_reachable(user: Any, connection: Any) -> None:
    draft = services.dataflow_draft_create(user=user, connection=connection)
    states = {s.step: s for s in step_states(draft, Step.SEGMENTS)}
    assert states[Step.SEGMENTS].reachable
    assert not states[Step.MAPPING].reachable
    assert not states[Step.REVIEW].reachable
