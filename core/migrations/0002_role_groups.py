"""The role groups "Marketer" and "Viewer" with their model permissions.

Permissions normally appear after migrate (post_migrate); create them here
first so the groups get them on a fresh database. core.roles.sync_roles keeps
them complete after later migrations.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from core.roles import MARKETER, VIEWER, grant_role_permissions


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    grant_role_permissions(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[MARKETER, VIEWER]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_schedules"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("profiles", "0001_initial"),
        ("destinations", "0001_initial"),
        ("activation", "0001_initial"),
        ("alerts", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
