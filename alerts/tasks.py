"""Thin Celery tasks: each loads by id (or sweeps) and calls one service."""

from smtplib import SMTPException

from celery import shared_task


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=8,
    time_limit=120,
    soft_time_limit=100,
)
def alert_email_send_task(alert_id: int) -> None:
    from alerts.services import alert_email_send

    alert_email_send(alert_id=alert_id)
