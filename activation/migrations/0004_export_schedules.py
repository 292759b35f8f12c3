from django.db import migrations

from core.schedules import ensure_interval_task, remove_task

TICK = "Export safety tick (every 5 s)"
PRUNE = "Prune the delivery log (daily)"


def forwards(apps, schema_editor):
    ensure_interval_task(
        apps, name=TICK, task="activation.tasks.dataflows_tick_task", every_seconds=5
    )
    ensure_interval_task(
        apps, name=PRUNE, task="activation.tasks.deliveries_prune_task", every_seconds=24 * 3600
    )


def backwards(apps, schema_editor):
    remove_task(apps, name=TICK)
    remove_task(apps, name=PRUNE)


class Migration(migrations.Migration):
    dependencies = [
        ("activation", "0003_export_scheduling"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
