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


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def connections_health_check_task() -> None:
    """Beat, every 15 minutes: one health-check task per connection."""
    from alerts.checks import connections_to_check

    for connection_id in connections_to_check():
        connection_health_check_task.delay(connection_id)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def connection_health_check_task(connection_id: int) -> None:
    from alerts.checks import connection_health_check

    connection_health_check(connection_id=connection_id)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def monitoring_sweep_task() -> None:
    """Beat, every 5 minutes: excluded rates and dataflows in Error."""
    from alerts.checks import dataflows_error_reconcile, runs_excluded_rate_check

    runs_excluded_rate_check()
    dataflows_error_reconcile()


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def access_keys_age_check_task() -> None:
    """Beat, daily: access keys older than 90 days."""
    from alerts.checks import access_keys_age_check

    access_keys_age_check()
