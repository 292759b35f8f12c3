"""Reads for connections and connect-wizard drafts."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from activation.models import DataflowQuerySet
from destinations.models import Connection, ConnectionDraft

STREAMS_PER_PAGE = 20


def connection_list() -> QuerySet[Connection]:
    """The workspace's connections (shared by every user; roles decide writes), each
    with the number of dataflows that use it."""
    return Connection.objects.select_related("owner").annotate(
        # Drafts (unfinished activations and edit copies) are not dataflows yet.
        dataflow_count=Count("dataflows", filter=DataflowQuerySet.live_q("dataflows__"))
    )


def connection_get(*, pk: int) -> Connection:
    """One connection of the workspace, or 404."""
    return get_object_or_404(connection_list(), pk=pk)


def connection_draft_get(*, owner: Any, draft_id: Any) -> ConnectionDraft:
    """One of the owner's verified wizard drafts, or 404."""
    return get_object_or_404(ConnectionDraft, pk=draft_id, owner=owner, verified_at__isnull=False)


def connection_draft_latest(*, owner: Any) -> ConnectionDraft | None:
    """The owner's wizard in progress, verified or not (there is one per user)."""
    return ConnectionDraft.objects.filter(owner=owner).order_by("-updated_at").first()


def connection_draft_resumable(*, owner: Any) -> ConnectionDraft | None:
    """The owner's unfinished connection to offer for resume: verified, not saved yet."""
    return (
        ConnectionDraft.objects.filter(owner=owner, verified_at__isnull=False)
        .order_by("-updated_at")
        .first()
    )


def connection_from_draft(*, owner: Any, draft_id: Any) -> Connection | None:
    """The connection a finished draft became (its wizard address is then a redirect)."""
    return Connection.objects.filter(created_from_draft=draft_id, owner=owner).first()


def stream_page(names: list[str], *, query: str = "", page: Any = 1) -> Page:
    """A page of stream names containing `query` (case-insensitive)."""
    needle = query.strip().lower()
    matches = [name for name in names if needle in name.lower()] if needle else list(names)
    return Paginator(matches, STREAMS_PER_PAGE).get_page(page)
