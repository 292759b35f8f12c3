"""Raising, resolving and delivering alerts.

Callers (the export engine, the health and key-age checks) raise an alert
whenever they see a problem and resolve it when it is gone; the dedupe key
names the problem ("dataflow_error:42"), so seeing it again while it is open
only counts another occurrence and never alerts twice.
"""

import logging
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from alerts.models import Alert, AlertKind
from core.stored_text import translate

logger = logging.getLogger(__name__)


def dataflow_error_key(dataflow_id: int) -> str:
    return f"dataflow_error:{dataflow_id}"


def excluded_rate_key(dataflow_id: int) -> str:
    return f"excluded_rate:{dataflow_id}"


def connection_unhealthy_key(connection_id: int) -> str:
    return f"connection_unhealthy:{connection_id}"


def access_key_age_key(connection_id: int) -> str:
    return f"access_key_age:{connection_id}"


def alert_raise(
    *,
    kind: str,
    title: str,
    message: str,
    dedupe_key: str,
    connection=None,  # destinations.models.Connection | None
    dataflow=None,  # activation.models.Dataflow | None
) -> Alert | None:
    """Open an alert for a problem unless one is already open for it.

    Returns the new alert, or None when the problem already has an open alert
    or the connection's alerts are switched off. The email (to the connection's
    owner, else the dataflow's creator) is sent after the transaction commits.
    """
    if kind not in AlertKind.values:
        raise ValueError(f"unknown alert kind {kind!r}")
    if connection is None and dataflow is not None:
        connection = dataflow.connection
    if connection is not None and not connection.alerts_enabled:
        return None
    now = timezone.now()
    with transaction.atomic():
        seen = Alert.objects.filter(dedupe_key=dedupe_key, resolved_at__isnull=True).update(
            occurrences=F("occurrences") + 1, last_seen_at=now
        )
        if seen:
            return None
        recipient = None
        if connection is not None:
            recipient = connection.owner
        elif dataflow is not None:
            recipient = dataflow.created_by
        try:
            # A savepoint: a concurrent raise of the same problem loses the
            # race on the partial unique constraint, and that is fine.
            with transaction.atomic():
                alert = Alert.objects.create(
                    kind=kind,
                    title=title[:300],
                    message=message,
                    dedupe_key=dedupe_key,
                    connection=connection,
                    dataflow=dataflow,
                    recipient=recipient,
                )
        except IntegrityError:
            return None
        transaction.on_commit(partial(_enqueue_email, alert.pk), robust=True)
    logger.info("alert raised: %s (%s)", dedupe_key, kind)
    return alert


def _enqueue_email(alert_id: int) -> None:
    from alerts.tasks import alert_email_send_task

    alert_email_send_task.delay(alert_id)


def alert_resolve(*, dedupe_key: str, user=None) -> None:
    """Mark the open alert for this problem (if any) resolved."""
    count = Alert.objects.filter(dedupe_key=dedupe_key, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=user
    )
    if count:
        logger.info("alert resolved: %s", dedupe_key)


def alert_dismiss(*, alert: Alert, user) -> None:
    """A marketer closes an alert by hand; the problem alerts again if it recurs."""
    if alert.resolved_at is None:
        alert_resolve(dedupe_key=alert.dedupe_key, user=user)


def alerts_mark_read(*, user) -> int:
    """Mark every unread alert of this user read (opening the notifications menu)."""
    return Alert.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def alert_email_send(*, alert_id: int) -> bool:
    """Email an alert to its recipient once; True when an email was sent."""
    alert = Alert.objects.select_related("recipient").filter(pk=alert_id).first()
    if alert is None or alert.emailed_at is not None:
        return False
    email = alert.recipient.email if alert.recipient else ""
    if not email:
        logger.info("alert %s has no recipient email; UI only", alert_id)
        return False
    # Claim first so a retried task never sends the same alert twice.
    claimed = Alert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    try:
        # In the recipient's language: the stored English texts are translated back.
        with translation.override(recipient_language(alert.recipient)):
            subject, body = f"[Streamline] {translate(alert.title)}", _email_body(alert)
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email],
        )
    except Exception:
        Alert.objects.filter(pk=alert_id).update(emailed_at=None)
        raise
    return True


def _email_body(alert: Alert) -> str:
    site = settings.SITE_URL.rstrip("/")
    if alert.dataflow_id:
        link = reverse("activation:dataflow_detail", args=[alert.dataflow_id])
    else:
        link = reverse("alerts:list")
    opening = gettext("Open it in Streamline: %(url)s") % {"url": f"{site}{link}"}
    why = gettext(
        "You receive this because alerts are on for this connection. Switch them off "
        "in the connection's destination details."
    )
    return f"{translate(alert.title)}\n\n{translate(alert.message)}\n\n{opening}\n\n{why}\n"


def recipient_language(user: object) -> str:
    """The language a user reads e-mails in: the one they chose in the user menu, else
    the site's default (an e-mail has no browser to ask)."""
    from core.i18n import saved_language

    return saved_language(user) or settings.LANGUAGE_CODE
