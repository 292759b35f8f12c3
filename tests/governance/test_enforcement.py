"""Enforcement afterwards: a governance change that makes a live dataflow break a policy
stops it (status, chain, alert) before the next forbidden record; the fix resumes it."""

import pytest

from activation.models import Dataflow, DataflowStatus
from alerts.models import Alert
from governance.models import DataUsagePolicy, LabelAssignment
from tests.activation.export.conftest import dataflow_for, documents, export, upsert, vip_segment
from tests.governance.conftest import declare, label

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = {"loyalty": {"tier": "gold"}}


def test_a_new_label_stops_a_live_dataflow_and_the_fix_resumes_it_with_what_changed(
    catalogue, sink, enqueued
):
    flow = dataflow_for([vip_segment()], attributes=["person.name.firstName", "person.birthDate"])
    declare(flow.connection, "export_to_third_party")
    upsert("ann@example.com", {**GOLD, "person": {"birthDate": "1970-01-01"}})
    export(flow, sink)
    assert len(documents(sink)) == 1

    label("person.birthDate", "S3")  # commits: live dataflows are re-evaluated
    flow.refresh_from_db()
    assert flow.status == DataflowStatus.POLICY_VIOLATION
    assert "attribute person.birthDate → S3" in flow.status_message
    alert = Alert.objects.get(dataflow=flow, resolved_at__isnull=True)
    assert "Policy violation" in alert.title

    upsert("ann@example.com", {"person": {"birthDate": "1971-01-01"}})
    report = export(flow, sink)
    assert report.state == "inactive"
    assert len(documents(sink)) == 1  # nothing forbidden left

    DataUsagePolicy.objects.filter(name__startswith="Sensitive").update(enabled=False)
    # update() sends no signal: a later governance change re-evaluates all
    LabelAssignment.objects.filter(target="person.birthDate").delete()
    flow.refresh_from_db()
    assert flow.status == DataflowStatus.ENABLED
    assert enqueued and enqueued[-1][0] == flow.pk
    assert not Alert.objects.filter(dataflow=flow, resolved_at__isnull=True).exists()
    export(flow, sink)
    assert documents(sink)[-1]["person"]["birthDate"] == "1971-01-01"


def test_the_runner_rechecks_before_sending(catalogue, sink):
    flow = dataflow_for([vip_segment()], attributes=["person.birthDate"])
    declare(flow.connection, "export_to_third_party")
    upsert("ann@example.com", {**GOLD, "person": {"birthDate": "1970-01-01"}})
    # A label written without signals (as a raw import would): the run itself catches it.
    from django.db.models.signals import post_save

    from governance import signals

    post_save.disconnect(sender=LabelAssignment, dispatch_uid="governance-LabelAssignment-save")
    try:
        label("person.birthDate", "S3")
    finally:
        signals.connect_signals()
    assert Dataflow.objects.get(pk=flow.pk).status == DataflowStatus.ENABLED
    report = export(flow, sink)
    assert report.state == "policy_violation"
    assert documents(sink) == []
    assert Dataflow.objects.get(pk=flow.pk).status == DataflowStatus.POLICY_VIOLATION


def test_a_connection_that_declares_a_new_marketing_action_is_re_evaluated(catalogue):
    label("person.birthDate", "S3")
    flow = dataflow_for([vip_segment()], attributes=["person.birthDate"])
    declare(flow.connection, "analytics")
    assert Dataflow.objects.get(pk=flow.pk).status == DataflowStatus.ENABLED
    declare(flow.connection, "analytics", "export_to_third_party")
    assert Dataflow.objects.get(pk=flow.pk).status == DataflowStatus.POLICY_VIOLATION
