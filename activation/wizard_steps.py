"""The activation wizard's steps and "is this step complete" predicates.

Completeness is computed from the draft Dataflow's own rows (never from the
session), so a draft left halfway can be resumed from any browser, and the
server can refuse a request that skips a step. The services, the API and the
wizard's views (activation/wizard/) all read the steps from here.
"""

from collections.abc import Callable

from activation.models import Dataflow
from core.wizard import StepState, WizardStep, progress


class Step(WizardStep):
    DESTINATION = "destination", "Select destination"
    SEGMENTS = "segments", "Select segments"
    MAPPING = "mapping", "Mapping"
    REVIEW = "review", "Review"

    @property
    def url_name(self) -> str:
        return f"activation:wizard_{self.value}"


STEPS: list[Step] = list(Step)


def destination_complete(dataflow: Dataflow) -> bool:
    return dataflow.connection_id is not None


def segments_complete(dataflow: Dataflow) -> bool:
    return dataflow.mapped_segments.exists()


def mapping_complete(dataflow: Dataflow) -> bool:
    """Saved once: defaults are only offered by the form, never stored unasked."""
    return (dataflow.attribute_mappings.exists() or dataflow.identity_selections.exists()) and bool(
        dataflow.partition_key_source
    )


# The review step has nothing of its own to complete: finishing is one action.
PREDICATES: dict[Step, Callable[[Dataflow], bool]] = {
    Step.DESTINATION: destination_complete,
    Step.SEGMENTS: segments_complete,
    Step.MAPPING: mapping_complete,
}


def step_complete(dataflow: Dataflow, step: Step) -> bool:
    predicate = PREDICATES.get(step)
    return predicate(dataflow) if predicate else False


def first_incomplete_step(dataflow: Dataflow) -> Step | None:
    """The earliest step still to do, or None when the draft can be finished."""
    for step in STEPS:
        if step in PREDICATES and not PREDICATES[step](dataflow):
            return step
    return None


def blocking_step(dataflow: Dataflow, step: Step) -> Step | None:
    """The incomplete step that comes before `step`, if any (a skip to refuse)."""
    first = first_incomplete_step(dataflow)
    if first is not None and STEPS.index(first) < STEPS.index(step):
        return first
    return None


def resume_step(dataflow: Dataflow) -> Step:
    """Where a returning marketer continues: the first incomplete step, else review."""
    return first_incomplete_step(dataflow) or Step.REVIEW


def step_states(
    dataflow: Dataflow | None, current: Step, *, url_of: Callable[[Step], str] | None = None
) -> list[StepState]:
    """The step indicator: done, current, and reachable up to the first incomplete step.

    Without a draft yet (the first page of a new dataflow) nothing is done or reachable.
    """
    if dataflow is None:
        return progress(current, done=lambda step: False)
    return progress(
        current,
        done=lambda step: step_complete(dataflow, step),
        reachable_until=first_incomplete_step(dataflow) or STEPS[-1],
        url_of=url_of,
    )
