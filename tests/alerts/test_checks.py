import datetime as dt

import pytest
from django.utils import timezone

from activation.models import DataflowStatus
from alerts.checks import (
    access_keys_age_check,
    connection_health_check,
    dataflows_error_reconcile,
    runs_excluded_rate_check,
)
from alerts.models import Alert
from tests.factories import (
    ConnectionFactory,
    DataflowFactory,
    ExportRunFactory,
    RunIssueFactory,
)
from tests.support import aws_calls

pytestmark = pytest.mark.django_db


def open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, resolved_at__isnull=True))


# --- connection health -----------------------------------------------------------------


def test_a_healthy_stream_marks_the_connection_ok(moto_kinesis):
    connection = ConnectionFactory(stream_name="acme-events")
    assert connection_health_check(connection_id=connection.pk) == "ok"
    connection.refresh_from_db()
    assert connection.health == "ok" and connection.health_checked_at is not None
    assert not Alert.objects.exists()


def test_a_deleted_stream_alerts_once_then_resolves_when_back(moto_kinesis):
    connection = ConnectionFactory(stream_name="acme-events")
    DataflowFactory(connection=connection)
    moto_kinesis.delete_stream(StreamName="acme-events")
    assert connection_health_check(connection_id=connection.pk) == "failing"
    assert connection_health_check(connection_id=connection.pk) == "failing"
    connection.refresh_from_db()
    assert connection.health == "failing"
    assert "does not exist" in connection.health_message
    [alert] = open_alerts("connection_unhealthy")
    assert alert.occurrences == 2 and alert.recipient == connection.owner
    # Words for marketers: the cause and what to do, no exception class or code.
    assert alert.title == (
        f"Connection “{connection.name}” is unhealthy: the stream “acme-events” does not exist"
    )
    assert alert.message == (
        "Retrying automatically; nothing to do once the stream exists again. "
        "1 active dataflow cannot deliver until then; nothing is lost."
    )
    assert "Exception" not in alert.title + alert.message
    moto_kinesis.create_stream(StreamName="acme-events", ShardCount=1)
    assert connection_health_check(connection_id=connection.pk) == "ok"
    assert open_alerts("connection_unhealthy") == []


def test_revoked_credentials_make_the_connection_unhealthy(moto_kinesis):
    connection = ConnectionFactory(stream_name="acme-events")

    def revoked(service, operation, params, proceed):
        raise aws_calls.client_error("UnrecognizedClientException", operation=operation)

    with aws_calls.call_hook(revoked):
        assert connection_health_check(connection_id=connection.pk) == "failing"
    assert open_alerts("connection_unhealthy")


def test_a_transient_error_changes_nothing(moto_kinesis):
    connection = ConnectionFactory(stream_name="acme-events")

    def throttled(service, operation, params, proceed):
        raise aws_calls.client_error("LimitExceededException", operation=operation)

    with aws_calls.call_hook(throttled):
        assert connection_health_check(connection_id=connection.pk) == "unknown"
    connection.refresh_from_db()
    assert connection.health == "unknown" and not Alert.objects.exists()


def test_recovery_retries_the_connections_failed_dataflows(moto_kinesis, monkeypatch):
    connection = ConnectionFactory(stream_name="acme-events", health="failing")
    retried = []
    monkeypatch.setattr(
        "activation.export.services.dataflows_retry_for_connection",
        lambda connection_id: retried.append(connection_id),
    )
    connection_health_check(connection_id=connection.pk)
    assert retried == [connection.pk]


# --- access keys --------------------------------------------------------------------------


def test_keys_older_than_90_days_alert_and_rotation_resolves():
    now = timezone.now()
    old = ConnectionFactory(name="Old key")
    old.secret_updated_at = now - dt.timedelta(days=91)
    old.save()
    fresh = ConnectionFactory(name="Fresh key")
    fresh.secret_updated_at = now - dt.timedelta(days=10)
    fresh.save()
    ConnectionFactory(auth_method="iam_role", access_key_id="", role_arn="arn:aws:iam::1:role/x")
    assert access_keys_age_check(now=now) == 1
    assert access_keys_age_check(now=now) == 1
    [alert] = open_alerts("access_key_age")
    assert alert.connection == old and "91 days old" in alert.title
    assert "AKIA…MPLE" in alert.message
    old.secret_updated_at = now
    old.save()
    access_keys_age_check(now=now)
    assert open_alerts("access_key_age") == []


def test_key_age_counts_from_creation_when_never_rotated():
    connection = ConnectionFactory()
    assert connection.secret_updated_at is None
    assert access_keys_age_check(now=timezone.now() + dt.timedelta(days=95)) == 1


# --- excluded rate and errors --------------------------------------------------------------------


def hour(ago: int = 0) -> dt.datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=ago)


def test_excluded_rate_above_1_percent_alerts_with_the_reason():
    dataflow = DataflowFactory(name="Newsletter")
    run = ExportRunFactory(
        dataflow=dataflow, window_start=hour(), profiles_received=100, identities_excluded=2
    )
    RunIssueFactory(run=run, error_code="MissingPartitionKey", reason="no crmid")
    assert runs_excluded_rate_check() == 1
    [alert] = open_alerts("excluded_rate")
    assert alert.dataflow == dataflow and "2.0%" in alert.title
    assert "2 of 100 profiles" in alert.message and "Most common reason: no crmid" in alert.message
    assert "MissingPartitionKey" not in alert.message


def test_exactly_1_percent_does_not_alert_and_a_clean_window_resolves():
    dataflow = DataflowFactory()
    ExportRunFactory(
        dataflow=dataflow, window_start=hour(1), profiles_received=100, identities_excluded=5
    )
    runs_excluded_rate_check()
    assert open_alerts("excluded_rate")
    ExportRunFactory(
        dataflow=dataflow, window_start=hour(), profiles_received=100, identities_excluded=1
    )
    assert runs_excluded_rate_check() == 0
    assert open_alerts("excluded_rate") == []


def test_old_windows_and_disabled_dataflows_are_not_checked():
    ExportRunFactory(window_start=hour(5), profiles_received=10, identities_excluded=5)
    ExportRunFactory(
        dataflow=DataflowFactory(status="disabled"),
        window_start=hour(),
        profiles_received=10,
        identities_excluded=5,
    )
    assert runs_excluded_rate_check() == 0


def test_reconcile_alerts_dataflows_in_error_and_resolves_recovered_ones():
    dataflow = DataflowFactory(status=DataflowStatus.ERROR, status_message="Stream deleted.")
    dataflows_error_reconcile()
    dataflows_error_reconcile()
    [alert] = open_alerts("dataflow_error")
    assert alert.occurrences == 1 and alert.message == "Stream deleted."
    dataflow.status = DataflowStatus.ENABLED
    dataflow.save()
    dataflows_error_reconcile()
    assert open_alerts("dataflow_error") == []


def test_beat_schedules_exist():
    from django_celery_beat.models import PeriodicTask

    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks["alerts.tasks.connections_health_check_task"] == 15 * 60
    assert tasks["alerts.tasks.monitoring_sweep_task"] == 5 * 60
    assert tasks["alerts.tasks.access_keys_age_check_task"] == 24 * 3600


def test_reconcile_leaves_a_failing_connections_dataflows_to_the_connection_alert():
    connection = ConnectionFactory(health="failing")
    DataflowFactory(connection=connection, status=DataflowStatus.ERROR)
    dataflows_error_reconcile()
    assert open_alerts("dataflow_error") == [], "one alert per cause: the connection's"


def test_the_permission_check_moves_health_and_its_alert_both_ways(moto_kinesis):
    from destinations.services import connection_run_check

    connection = ConnectionFactory(stream_name="acme-events")
    DataflowFactory(connection=connection)
    moto_kinesis.delete_stream(StreamName="acme-events")
    connection_run_check(connection=connection)
    connection.refresh_from_db()
    assert connection.health == "failing"
    [alert] = open_alerts("connection_unhealthy")
    assert alert.title.startswith(f"Connection “{connection.name}” is unhealthy: the permission")

    moto_kinesis.create_stream(StreamName="acme-events", ShardCount=1)
    connection_run_check(connection=connection)
    connection.refresh_from_db()
    assert (connection.health, connection.health_message) == ("ok", "")
    assert open_alerts("connection_unhealthy") == []
