"""Two Celery tasks renamed to the project's one scheme, `<app>.tasks.<noun>_<verb>_task`.

Beat schedules are rows of django-celery-beat that name their task, so every
row naming an old task (the ones core and destinations created, and any an
admin added) is pointed at the new name. This lives in alerts, the app of the
schedules' checks, only because it touches several apps' rows at once.
"""

from django.db import migrations

RENAMED = [
    ("core.tasks.clear_expired_sessions", "core.tasks.expired_sessions_clear_task"),
    (
        "destinations.tasks.purge_connection_drafts",
        "destinations.tasks.connection_drafts_purge_task",
    ),
]


def _rename(apps, pairs):
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in pairs:
        periodic_task.objects.filter(task=old).update(task=new)


def forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def backwards(apps, schema_editor):
    _rename(apps, [(new, old) for old, new in RENAMED])


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_schedules"),
        ("core", "0001_schedules"),
        ("destinations", "0003_purge_drafts_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
