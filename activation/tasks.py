"""Thin Celery tasks of the export engine: each takes an id (or sweeps) and calls one service.

Runs are never retried by Celery: a failed or interrupted run leaves its
position where it was, and the run's own follow-up or the safety tick queues
the next one.
"""

from celery import shared_task


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def dataflow_run_task(dataflow_id: int) -> str:
    """Export what is pending for one dataflow (see activation.export.services)."""
    from activation.export.services import dataflow_run

    return dataflow_run(dataflow_id=dataflow_id).state


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def dataflows_tick_task() -> int:
    """Safety net: queue runs of dataflows with pending work that nobody is running."""
    from activation.export.services import dataflows_tick

    return dataflows_tick()


# Rows one retention task deletes before it queues the next (a day's backlog of a
# busy installation takes several tasks, each far under its time limit).
PRUNE_ROWS_PER_TASK = 200_000


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def deliveries_prune_task() -> int:
    """Delete delivery-log rows, run issues and old history past their retention, at most
    PRUNE_ROWS_PER_TASK rows per task; one that reached it queues the next (deleting is
    idempotent: a redelivered task finds fewer rows)."""
    from activation.export.services import deliveries_prune

    deleted = deliveries_prune(limit=PRUNE_ROWS_PER_TASK)
    if deleted >= PRUNE_ROWS_PER_TASK:
        deliveries_prune_task.delay()
    return deleted


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def change_log_prune_task() -> int:
    """Delete profile changes every dataflow has read (after the safety window)."""
    from activation.export.services import change_log_prune

    return change_log_prune()


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def dataflow_drafts_cleanup_task() -> int:
    """Delete activation-wizard drafts untouched for a week (activation.services)."""
    from activation.services import dataflow_drafts_cleanup

    return dataflow_drafts_cleanup()
