"""The one framework both wizards use (connect a destination, activate segments).

A wizard is an ordered `WizardStep` enum (value and label per member); what
"done" means is the wizard's own business, read from its draft row (never the
session). `progress` turns that into the step indicator every wizard page
shows with `templates/includes/wizard_progress.html`. A step view gets its
draft through `with_object`: the loader either returns the object or raises
`Detour` with the answer to give instead (a redirect, a 409 page), so no view
checks what it was handed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import Any, Self, TypeVar

from django.http import HttpRequest, HttpResponse

T = TypeVar("T")


class WizardStep(StrEnum):
    """A wizard's steps, in order: each member is `NAME = "value", "Label"`."""

    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @property
    def number(self) -> int:
        """1-based position, as the indicator shows it."""
        return list(type(self)).index(self) + 1


@dataclass(frozen=True)
class StepState:
    """One entry of the step indicator."""

    step: WizardStep
    done: bool
    current: bool
    reachable: bool
    url: str = ""  # set when the entry links to its step

    @property
    def label(self) -> str:
        return self.step.label

    @property
    def number(self) -> int:
        return self.step.number

    @property
    def state(self) -> str:
        return "current" if self.current else "done" if self.done else "todo"


def progress(
    current: WizardStep,
    *,
    done: Callable[[Any], bool] | None = None,
    reachable_until: WizardStep | None = None,
    url_of: Callable[[Any], str] | None = None,
) -> list[StepState]:
    """The indicator's entries for a page at `current`.

    `done` says whether a step is complete (default: it comes before `current`);
    steps up to `reachable_until` (default: none) link to their page when
    `url_of` gives their address.
    """
    steps = list(type(current))
    limit = steps.index(reachable_until) if reachable_until is not None else -1
    states = []
    for index, step in enumerate(steps):
        reachable = index <= limit
        link = url_of is not None and reachable and step != current
        states.append(
            StepState(
                step=step,
                done=done(step) if done is not None else index < steps.index(current),
                current=step == current,
                reachable=reachable,
                url=url_of(step) if link and url_of is not None else "",
            )
        )
    return states


class Detour(Exception):  # noqa: N818 - a change of route, not a failure
    """The request belongs elsewhere (a saved draft, a skipped step): answer `response`."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def with_object(loader: Callable[..., T]) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Pass the view the object `loader(request, **url_kwargs)` returns.

    A `Detour` raised by the loader is the view's answer; the view itself only
    ever sees a loaded object.
    """

    def decorate(view: Callable[[HttpRequest, T], HttpResponse]) -> Any:
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                obj = loader(request, **kwargs)
            except Detour as detour:
                return detour.response
            return view(request, obj)

        return wrapper

    return decorate
