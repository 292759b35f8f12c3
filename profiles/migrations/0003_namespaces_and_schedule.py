from django.db import migrations

from core.schedules import ensure_interval_task, remove_task

BUILTIN_NAMESPACES = [
    ("ecid", "Experience Cloud ID (ECID)"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("crmid", "CRM ID"),
]
SCHEDULE = "Evaluate active segments (hourly)"


def forwards(apps, schema_editor):
    namespace = apps.get_model("profiles", "IdentityNamespace")
    for code, name in BUILTIN_NAMESPACES:
        namespace.objects.update_or_create(code=code, defaults={"name": name, "builtin": True})
    ensure_interval_task(
        apps, name=SCHEDULE, task="profiles.tasks.segments_evaluate_all_task", every_seconds=3600
    )


def backwards(apps, schema_editor):
    remove_task(apps, name=SCHEDULE)
    codes = [code for code, _ in BUILTIN_NAMESPACES]
    apps.get_model("profiles", "IdentityNamespace").objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0002_change_capture"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
