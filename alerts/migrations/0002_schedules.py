from django.db import migrations

from core.schedules import ensure_interval_task, remove_task

SCHEDULES = [
    (
        "Alerts: connection health check (15 min)",
        "alerts.tasks.connections_health_check_task",
        15 * 60,
    ),
    (
        "Alerts: excluded rate and dataflow errors (5 min)",
        "alerts.tasks.monitoring_sweep_task",
        5 * 60,
    ),
    ("Alerts: access key age (daily)", "alerts.tasks.access_keys_age_check_task", 24 * 3600),
]


def forwards(apps, schema_editor):
    for name, task, every in SCHEDULES:
        ensure_interval_task(apps, name=name, task=task, every_seconds=every)


def backwards(apps, schema_editor):
    for name, _, _ in SCHEDULES:
        remove_task(apps, name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
