"""Reading the audit trail in tests."""

from typing import Any

from django.db.models import QuerySet

from audit.models import AuditEntry


def described_changes(dataflow: Any) -> QuerySet[AuditEntry]:
    """The dataflow's entries a service described in words, newest first."""
    return AuditEntry.objects.filter(object_type="dataflow", object_id=dataflow.pk).exclude(
        summary=""
    )
