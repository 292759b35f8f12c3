from django.db import migrations

from core.schedules import ensure_interval_task, remove_task

NAME = "Delete abandoned dataflow drafts (daily)"


def forwards(apps, schema_editor):
    ensure_interval_task(
        apps,
        name=NAME,
        task="activation.tasks.dataflow_drafts_cleanup_task",
        every_seconds=24 * 3600,
    )


def backwards(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("activation", "0004_export_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
