from django.db import migrations

from core.schedules import ensure_interval_task, remove_task

NAME = "Purge abandoned connect-wizard drafts (hourly)"


def forwards(apps, schema_editor):
    ensure_interval_task(
        apps, name=NAME, task="destinations.tasks.purge_connection_drafts", every_seconds=3600
    )


def backwards(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("destinations", "0002_wizard_drafts_and_checks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
