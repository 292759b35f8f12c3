"""Seed the core labels, marketing actions and policies (governance/seed.py); existing
connections get the default marketing action (export to third party)."""

from django.db import migrations

from governance.seed import seed_core


def seed(apps, schema_editor):
    actions = seed_core(
        apps.get_model("governance", "DataUsageLabel"),
        apps.get_model("governance", "MarketingAction"),
        apps.get_model("governance", "DataUsagePolicy"),
    )
    for connection in apps.get_model("destinations", "Connection").objects.all():
        if not connection.marketing_actions.exists():
            connection.marketing_actions.add(actions["export_to_third_party"])


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0001_initial"),
        ("destinations", "0005_connection_marketing_actions"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
