from celery import shared_task


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def connection_drafts_purge_task() -> int:
    """Delete connect-wizard drafts abandoned for a day (they hold encrypted secrets)."""
    from destinations.services import connection_drafts_purge

    return connection_drafts_purge()
