"""Reads for the notifications menu and the alerts page."""

from django.db.models import Count, Q, QuerySet

from alerts.models import Alert


def alerts_for_user(*, user, state: str = "open") -> QuerySet[Alert]:
    """A user's alerts: "open", "resolved" or "all", newest first."""
    alerts = Alert.objects.filter(recipient=user).select_related("dataflow", "connection")
    if state == "open":
        return alerts.filter(resolved_at__isnull=True)
    if state == "resolved":
        return alerts.filter(resolved_at__isnull=False).order_by("-resolved_at", "-id")
    return alerts


def alerts_menu(*, user, limit: int = 6) -> dict:
    """The notifications menu: the newest open alerts and the open/unread counts."""
    counts = Alert.objects.filter(recipient=user, resolved_at__isnull=True).aggregate(
        open=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True))
    )
    alerts = list(alerts_for_user(user=user, state="open")[:limit]) if counts["open"] else []
    return {"alerts": alerts, "open_count": counts["open"], "unread_count": counts["unread"]}
