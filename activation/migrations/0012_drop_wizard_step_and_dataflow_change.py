from django.db import migrations


class Migration(migrations.Migration):
    """The wizard's progress is derived from the draft's rows (activation/wizard_steps.py),
    and the audit log is the one change history (audit 0002 copied DataflowChange)."""

    dependencies = [
        ("activation", "0011_dataflow_status_policy_violation"),
        ("audit", "0002_summary_details_from_dataflow_change"),
    ]

    operations = [
        migrations.RemoveField(model_name="dataflow", name="wizard_step"),
        migrations.DeleteModel(name="DataflowChange"),
    ]
