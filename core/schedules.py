"""Helpers for data migrations that create the project's Celery beat schedules.

Schedules live in django-celery-beat's tables so admins can change or pause
them in Django admin; migrations only create them when missing, so an admin's
edits survive later deploys.
"""

from typing import Any


def ensure_interval_task(apps: Any, *, name: str, task: str, every_seconds: int) -> None:
    """Create a periodic task running every N seconds unless one with that name exists."""
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    if task_model.objects.filter(name=name).exists():
        return
    interval, _ = interval_model.objects.get_or_create(every=every_seconds, period="seconds")
    task_model.objects.create(name=name, task=task, interval=interval, enabled=True)


def remove_task(apps: Any, *, name: str) -> None:
    """Reverse of ensure_interval_task."""
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()
