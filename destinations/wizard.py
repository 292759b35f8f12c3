"""The connect wizard's steps, shared by every destination type.

One view per step over a draft row (ConnectionDraft), never the session:
a step is reachable when the previous one is complete, and completeness is
read from the draft itself.
"""

from dataclasses import dataclass
from enum import IntEnum

from django.utils.translation import gettext

from destinations.models import ConnectionDraft


class Step(IntEnum):
    AUTHENTICATE = 1
    DETAILS = 2
    CHECK = 3

    @property
    def label(self) -> str:
        labels = {
            1: gettext("Authenticate"),
            2: gettext("Destination details"),
            3: gettext("Permission check"),
        }
        return labels[self.value]


def authenticate_complete(draft: ConnectionDraft | None) -> bool:
    """Step 1 is done once AWS accepted the draft's credentials."""
    return draft is not None and draft.verified_at is not None


@dataclass(frozen=True)
class StepView:
    number: int
    label: str
    state: str  # done | current | todo


def progress(current: Step) -> list[StepView]:
    """The step indicator's entries."""
    return [
        StepView(
            number=step.value,
            label=step.label,
            state="done" if step < current else "current" if step == current else "todo",
        )
        for step in Step
    ]
