"""The wizard framework both wizards share: steps, the indicator, Detour."""

from django.http import HttpResponse, HttpResponseRedirect
from django.test import RequestFactory

from core.wizard import Detour, WizardStep, progress, with_object


class Trip(WizardStep):
    PACK = "pack", "Pack"
    TRAVEL = "travel", "Travel"
    ARRIVE = "arrive", "Arrive"


def test_steps_are_strings_with_a_label_and_a_position():
    assert (Trip.TRAVEL, Trip.TRAVEL.label, Trip.TRAVEL.number) == ("travel", "Travel", 2)
    assert Trip("arrive") is Trip.ARRIVE


def test_by_default_earlier_steps_are_done_and_nothing_links():
    states = progress(Trip.TRAVEL)
    assert [s.state for s in states] == ["done", "current", "todo"]
    assert not any(s.url for s in states)


def test_reachable_steps_link_except_the_current_one():
    states = progress(
        Trip.PACK,
        done=lambda step: step != Trip.ARRIVE,
        reachable_until=Trip.TRAVEL,
        url_of=lambda step: f"/{step}/",
    )
    assert [(s.state, s.reachable, s.url) for s in states] == [
        ("current", True, ""),
        ("done", True, "/travel/"),
        ("todo", False, ""),
    ]


def _loader(request, pk):
    if pk == 0:
        raise Detour(HttpResponseRedirect("/elsewhere/"))
    return {"pk": pk}


@with_object(_loader)
def _view(request, obj):
    return HttpResponse(str(obj["pk"]))


def test_a_view_gets_the_loaded_object_or_the_loaders_detour():
    request = RequestFactory().get("/")
    assert _view(request, pk=7).content == b"7"
    detour = _view(request, pk=0)
    assert (detour.status_code, detour["Location"]) == (302, "/elsewhere/")
