"""Reads for the notifications menu and the alerts page."""

from django.db.models import Count, Max, Q, QuerySet

from alerts.models import Alert
from core.live import live_version


def alerts_for_user(*, user, state: str = "open") -> QuerySet[Alert]:
    """A user's alerts: "open", "resolved" or "all", newest first."""
    alerts = Alert.objects.filter(recipient=user).select_related("dataflow", "connection")
    if state == "open":
        return alerts.filter(resolved_at__isnull=True)
    if state == "resolved":
        return alerts.filter(resolved_at__isnull=False).order_by("-resolved_at", "-id")
    return alerts


def _open_alerts_state(*, user) -> dict:
    """Counts of the user's open alerts, and what moves when one is raised, seen again or
    closed (one aggregate over the (recipient, resolved_at, created_at) index)."""
    return Alert.objects.filter(recipient=user, resolved_at__isnull=True).aggregate(
        open=Count("id"),
        unread=Count("id", filter=Q(read_at__isnull=True)),
        newest=Max("id"),
        last_seen=Max("last_seen_at"),
    )


def alerts_menu_version(*, user) -> str:
    """The menu's live version (core/live.py): changes when its content would."""
    return live_version(*_open_alerts_state(user=user).values())


def alerts_menu(*, user, limit: int = 6) -> dict:
    """The notifications menu: the newest open alerts, the open/unread counts and the
    live version they were read at."""
    state = _open_alerts_state(user=user)
    alerts = list(alerts_for_user(user=user, state="open")[:limit]) if state["open"] else []
    return {
        "alerts": alerts,
        "open_count": state["open"],
        "unread_count": state["unread"],
        "live_version": live_version(*state.values()),
    }
