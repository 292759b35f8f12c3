from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.tasks import expired_sessions_clear_task
from tests.conftest import wait_for


@pytest.mark.django_db
def test_project_schedules_exist_for_admins_to_edit():
    task = PeriodicTask.objects.get(name="Clear expired sessions (daily)")
    assert task.task == "core.tasks.expired_sessions_clear_task"
    assert task.enabled


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_from_the_broker(celery_worker_process):
    expired = Session.objects.create(
        session_key="expired-session", session_data="x", expire_date=timezone.now() - timedelta(1)
    )
    live = Session.objects.create(
        session_key="live-session", session_data="x", expire_date=timezone.now() + timedelta(1)
    )
    expired_sessions_clear_task.delay()
    wait_for(lambda: not Session.objects.filter(pk=expired.pk).exists(), seconds=60)
    assert Session.objects.filter(pk=live.pk).exists()
