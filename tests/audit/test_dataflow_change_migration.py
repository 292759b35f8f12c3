"""audit 0002 moves activation.DataflowChange's rows into the audit log."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("audit", "0001_audit_entry"), ("activation", "0011_dataflow_status_policy_violation")]
AFTER = [
    ("audit", "0002_summary_details_from_dataflow_change"),
    ("activation", "0012_drop_wizard_step_and_dataflow_change"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_dataflow_changes_complete_their_entry_or_become_one():
    from tests.factories import DataflowFactory, UserFactory

    user = UserFactory(username="mia")
    flow = DataflowFactory(name="Newsletter", status="enabled")
    apps = migrate(BEFORE)
    try:
        change_model = apps.get_model("activation", "DataflowChange")
        entry_model = apps.get_model("audit", "AuditEntry")
        entry_model.objects.all().delete()
        now = timezone.now()
        recorded = entry_model.objects.create(
            actor_name="mia",
            via="ui",
            action="disabled",
            object_type="dataflow",
            object_id=flow.pk,
            object_name="Newsletter",
        )
        entry_model.objects.filter(pk=recorded.pk).update(created_at=now)
        for summary, at in (
            ("Disabled.", now),
            ("Activated 1 segment(s).", now - dt.timedelta(days=3)),
        ):
            change = change_model.objects.create(
                dataflow_id=flow.pk, changed_by_id=user.pk, summary=summary, details={"k": 1}
            )
            change_model.objects.filter(pk=change.pk).update(created_at=at)
    finally:
        migrate(AFTER)

    from audit.models import AuditEntry

    completed, created = AuditEntry.objects.filter(object_id=flow.pk).order_by("-created_at")
    assert (completed.pk, completed.summary, completed.details) == (
        recorded.pk,
        "Disabled.",
        {"k": 1},
    )
    assert (created.action, created.actor_id, created.actor_name, created.summary) == (
        "created",
        user.pk,
        "mia",
        "Activated 1 segment(s).",
    )
    assert created.created_at < completed.created_at
