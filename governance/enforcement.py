"""Enforcement after activation: a live dataflow that now breaks a policy stops exporting.

When a label, policy, marketing action or a connection's declared actions change,
every live dataflow is re-evaluated (after the change commits). One that now
breaks a policy goes to "Policy violation": the exporter does not run it, its
cursor stays where it was, its page shows the chains, and an alert is raised.
Once fixed it is enabled again and a run starts at once, sending what changed
meanwhile. Each run also re-checks before every chunk (`dataflow_blocked`), so
nothing forbidden leaves even while a run is under way when the change lands.
"""

from __future__ import annotations

import logging

from django.db import transaction

from activation.models import Dataflow, DataflowStatus
from alerts.models import AlertKind
from alerts.services import alert_raise, alert_resolve
from core.stored_text import StoredText
from governance.evaluation import Violation
from governance.services import dataflow_violations

logger = logging.getLogger(__name__)


def violation_key(dataflow_id: int) -> str:
    return f"policy_violation:dataflow:{dataflow_id}"


# Stored in English, shown translated (core.stored_text); one line per chain.
STOPPED = StoredText(
    "Stopped: a data-usage policy forbids what this dataflow exports. Nothing is sent "
    "until it is fixed (unmap, hash or remove what the chain names, or change the "
    "policy); then it resumes and sends what changed meanwhile."
)
VIOLATION_TITLE = StoredText("Policy violation: dataflow “%(name)s” stopped")


def violation_message(violations: list[Violation]) -> str:
    lines = [STOPPED()]
    for violation in violations:
        lines.extend(violation.lines)
    return "\n".join(lines)


def dataflow_enforce(dataflow: Dataflow) -> bool:
    """Stop or resume one live dataflow after a governance change; True when blocked."""
    if _stopped_if_violating(dataflow):
        return True
    resumed = Dataflow.objects.filter(
        pk=dataflow.pk, status=DataflowStatus.POLICY_VIOLATION
    ).update(status=DataflowStatus.ENABLED, status_message="")
    if resumed:
        from activation.export.services import schedule_dataflow_run

        alert_resolve(dedupe_key=violation_key(dataflow.pk))
        logger.info("dataflow %s resumed: no policy violation any more", dataflow.pk)
        schedule_dataflow_run(dataflow.pk, force=True)
    return False


def _stopped_if_violating(dataflow: Dataflow, actions: frozenset[str] | None = None) -> bool:
    """Stop the dataflow (status, alert) when a policy forbids what it exports."""
    violations = dataflow_violations(dataflow, actions=actions)
    if violations:
        stopped = (
            Dataflow.objects.runnable()
            .filter(pk=dataflow.pk)
            .update(
                status=DataflowStatus.POLICY_VIOLATION, status_message=violation_message(violations)
            )
        )
        if stopped:
            logger.warning("dataflow %s stopped: policy violation", dataflow.pk)
            alert_raise(
                kind=AlertKind.DATAFLOW_ERROR,
                title=VIOLATION_TITLE(name=dataflow.name),
                message=violation_message(violations),
                dedupe_key=violation_key(dataflow.pk),
                dataflow=dataflow,
            )
        return True
    return False


def dataflows_enforce() -> int:
    """Re-evaluate every live dataflow; the number now stopped for a policy violation."""
    blocked = 0
    for dataflow in Dataflow.objects.governed().select_related("connection"):
        blocked += dataflow_enforce(dataflow)
    return blocked


def dataflows_enforce_on_commit() -> None:
    """After the current transaction (a governance change) commits: re-evaluate then, so
    the evaluation sees the whole change (a policy and its labels, say)."""
    transaction.on_commit(dataflows_enforce)


def dataflow_blocked(dataflow: Dataflow, *, actions: frozenset[str] | None = None) -> bool:
    """The runner's check before each chunk: stop here if a policy now forbids it.

    Only stops: a run works on a runnable dataflow, and resuming one is the
    governance change's job (`dataflows_enforce`), so no write per chunk. `actions`:
    the connection's marketing action codes, when just read."""
    return _stopped_if_violating(dataflow, actions)
