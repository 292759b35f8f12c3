"""The profile index of the delivery log gains the dataflow: accounting asks, per chunk,
which of its profiles this dataflow already delivered in the hour, one exact probe per
profile (the new index is built before the old one goes, so lookups never lose one)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activation", "0012_drop_wizard_step_and_dataflow_change"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deliverylog",
            index=models.Index(
                fields=["profile_id", "dataflow", "sent_at"], name="activation__profile_612021_idx"
            ),
        ),
        migrations.RemoveIndex(
            model_name="deliverylog",
            name="activation__profile_d3d6e2_idx",
        ),
    ]
