from django.db import migrations


class Migration(migrations.Migration):
    """The wizard's progress is derived from the draft's rows (activation/wizard_steps.py)."""

    dependencies = [
        ("activation", "0011_dataflow_status_policy_violation"),
    ]

    operations = [
        migrations.RemoveField(model_name="dataflow", name="wizard_step"),
    ]
