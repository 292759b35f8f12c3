from celery import shared_task


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def expired_sessions_clear_task() -> None:
    """Delete expired login sessions (Django's clearsessions)."""
    from django.core.management import call_command

    call_command("clearsessions")
