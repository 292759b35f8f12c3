from celery import shared_task

# Id ranges (of profiles.segments.CHUNK profiles each) one task evaluates before it
# queues the next: a task stays far under its time limit, and both under the broker's
# visibility timeout, however many profiles there are.
RANGES_PER_TASK = 5


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def segment_evaluate_task(segment_id: str, cursor: dict | None = None) -> None:
    """Batch-evaluate one segment, RANGES_PER_TASK id ranges per task; a task that has
    not finished queues the next with its cursor (ranges are idempotent on redelivery)."""
    from profiles.segments import EvaluationCursor, segment_evaluate_step

    _, going_on = segment_evaluate_step(
        segment_id=segment_id,
        cursor=EvaluationCursor.from_json(cursor) if cursor else None,
        chunks=RANGES_PER_TASK,
    )
    if going_on is not None:
        segment_evaluate_task.delay(segment_id, going_on.as_json())


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def segments_evaluate_all_task() -> None:
    """Beat job: queue a batch evaluation of every active segment."""
    from profiles.segments import segments_schedule_all

    segments_schedule_all()
