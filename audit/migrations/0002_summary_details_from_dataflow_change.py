"""One audit trail: AuditEntry gains a service's words (summary, details) and takes over
activation.DataflowChange's rows (that model is dropped by activation 0012)."""

from datetime import timedelta

from django.db import migrations, models

# A DataflowChange was written inside the transaction whose commit wrote the
# recorder's entry, so that entry follows it within moments.
SAME_CHANGE_WITHIN = timedelta(seconds=60)


def _action(change) -> str:
    if change.summary in ("Enabled.", "Disabled."):
        return change.summary[:-1].lower()
    return "created" if change.summary.startswith("Activated ") else "edited"


def copy_dataflow_changes(apps, schema_editor) -> None:
    DataflowChange = apps.get_model("activation", "DataflowChange")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    changes = DataflowChange.objects.select_related("dataflow", "changed_by").order_by(
        "created_at", "id"
    )
    for change in changes.iterator():
        entry = (
            AuditEntry.objects.filter(
                object_type="dataflow",
                object_id=change.dataflow_id,
                summary="",
                created_at__gte=change.created_at,
                created_at__lte=change.created_at + SAME_CHANGE_WITHIN,
            )
            .order_by("created_at", "id")
            .first()
        )
        if entry is not None:
            entry.summary, entry.details = change.summary, change.details
            entry.save(update_fields=["summary", "details"])
            continue
        # No recorded entry to complete (older than the recorder): a words-only one.
        # How the change was made was not kept; the web UI is where most are made.
        entry = AuditEntry.objects.create(
            actor=change.changed_by,
            actor_name=change.changed_by.username,  # django.contrib.auth's User
            via="ui",
            action=_action(change),
            object_type="dataflow",
            object_id=change.dataflow_id,
            object_name=change.dataflow.name[:200],
            summary=change.summary,
            details=change.details,
        )
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=change.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_audit_entry"),
        ("activation", "0011_dataflow_status_policy_violation"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="summary",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(copy_dataflow_changes, migrations.RunPython.noop),
    ]
