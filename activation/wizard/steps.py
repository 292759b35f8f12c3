"""The activation wizard's steps and "is this step complete" predicates.

Completeness is computed from the draft Dataflow's own rows (never from the
session), so a draft left halfway can be resumed from any browser, and the
server can refuse a request that skips a step.
"""

from collections.abc import Callable
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from activation.models import Dataflow


class Step(StrEnum):
    DESTINATION = "destination"
    SEGMENTS = "segments"
    MAPPING = "mapping"
    REVIEW = "review"

    @property
    def label(self) -> str:
        return str(STEP_LABELS[self])

    @property
    def url_name(self) -> str:
        return f"activation:wizard_{self.value}"


STEP_LABELS = {
    Step.DESTINATION: _("Select destination"),
    Step.SEGMENTS: _("Select segments"),
    Step.MAPPING: _("Mapping"),
    Step.REVIEW: _("Review"),
}
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


def step_states(dataflow: Dataflow, current: Step) -> list[dict]:
    """For the step indicator: each step's label, whether done, current, reachable."""
    first = first_incomplete_step(dataflow)
    limit = STEPS.index(first) if first is not None else len(STEPS) - 1
    return [
        {
            "step": step,
            "label": step.label,
            "done": step_complete(dataflow, step),
            "current": step == current,
            "reachable": index <= limit,
            "url_name": step.url_name,
        }
        for index, step in enumerate(STEPS)
    ]
