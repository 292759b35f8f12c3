# The constraint in its own migration (transaction): on PostgreSQL a table cannot be
# altered in the transaction that just updated its rows (pending trigger events).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activation", "0007_run_outcomes_per_profile"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="exportrun",
            index=models.Index(
                condition=models.Q(("identities_failed__gt", 0)),
                fields=["dataflow"],
                name="exportrun_failing",
            ),
        ),
        migrations.AddConstraint(
            model_name="runissue",
            constraint=models.UniqueConstraint(
                fields=("run", "profile_id"), name="runissue_one_per_profile"
            ),
        ),
    ]
