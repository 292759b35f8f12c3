"""Telling an editor what became of their unfinished edit of a live dataflow.

When someone else takes over or discards it (activation/services.py), an
EditHandover waits for the previous editor; the middleware shows it on their
next page, once.
"""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext

from activation import selectors, services
from activation.models import EditHandover, EditHandoverAction

# Pages only: not the API, htmx fragments, static files or the health check.
SKIPPED_PREFIXES = ("/api/", "/static/", "/healthz", "/favicon.ico")


def edit_handover_notice(handover: EditHandover) -> str:
    """What the previous editor is told about their edit."""
    when = timezone.localtime(handover.at).strftime("%Y-%m-%d %H:%M %Z")
    name = handover.by.get_full_name() or handover.by.get_username()
    params = {"name": name, "dataflow": handover.dataflow.name, "when": when}
    if handover.action == EditHandoverAction.TAKEN_OVER:
        return (
            gettext(
                "%(name)s took over your unfinished edit of “%(dataflow)s” on %(when)s: "
                "it is theirs now, with the changes you had made."
            )
            % params
        )
    return (
        gettext(
            "%(name)s discarded your unfinished edit of “%(dataflow)s” on %(when)s: "
            "the live dataflow was not changed."
        )
        % params
    )


class EditHandoverNoticeMiddleware:
    """Shows a user, on their next page, the edits of theirs others took over or discarded."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._is_page_view(request):
            notices = services.edit_handovers_take_unseen(user=request.user)
            for handover in notices:
                messages.warning(request, edit_handover_notice(handover))
            request.edit_handover_notices = {h.draft_id for h in notices}  # type: ignore[attr-defined]
        return self.get_response(request)

    @staticmethod
    def _is_page_view(request: HttpRequest) -> bool:
        return (
            request.method == "GET"
            and not request.headers.get("HX-Request")
            and not request.path.startswith(SKIPPED_PREFIXES)
            and request.user.is_authenticated
            and selectors.edit_handovers_waiting(user=request.user)
        )
