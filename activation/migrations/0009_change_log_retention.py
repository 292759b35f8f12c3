from django.db import migrations, models

from core.schedules import ensure_interval_task, remove_task

PRUNE = "Prune the change log (every minute)"


def forwards(apps, schema_editor):
    ensure_interval_task(
        apps, name=PRUNE, task="activation.tasks.change_log_prune_task", every_seconds=60
    )


def backwards(apps, schema_editor):
    remove_task(apps, name=PRUNE)


class Migration(migrations.Migration):
    dependencies = [
        ("activation", "0008_runissue_one_per_profile"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        migrations.AddField(
            model_name="backfill",
            name="exited_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
