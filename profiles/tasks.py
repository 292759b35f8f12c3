from celery import shared_task


@shared_task(acks_late=True, time_limit=60 * 60, soft_time_limit=55 * 60)
def segment_evaluate_task(segment_id: str) -> None:
    """Batch-evaluate one segment over every profile."""
    from profiles.segments import segment_evaluate

    segment_evaluate(segment_id=segment_id)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def segments_evaluate_all_task() -> None:
    """Beat job: queue a batch evaluation of every active segment."""
    from profiles.segments import segments_schedule_all

    segments_schedule_all()
