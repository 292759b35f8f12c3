from django.db import migrations

from core.schedules import ensure_interval_task, remove_task

NAME = "Clear expired sessions (daily)"


def forwards(apps, schema_editor):
    ensure_interval_task(
        apps, name=NAME, task="core.tasks.clear_expired_sessions", every_seconds=24 * 3600
    )


def backwards(apps, schema_editor):
    remove_task(apps, name=NAME)


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forwards, backwards)]
