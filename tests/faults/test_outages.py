"""Outages that outlast a run: the endpoint down, the credentials revoked.

While the problem lasts the dataflow says so (and alerts once); nothing
pending is dropped, and everything arrives once the cause is gone. The
endpoint's "minute" down is a handful of failed runs here: the fault
settings shorten the stuck detection (1 s) and the retry waits, the path is
the real one (connection refused by a stopped endpoint, keys deleted in IAM).
"""

import pytest
from django.urls import reverse

from activation.export.services import DELAY_ALERT_AFTER_FAILURES, dataflow_run
from activation.models import Dataflow, DataflowStatus, DeliveryLog, ExportRun
from alerts.models import Alert
from destinations.models import AuthMethod, Connection, Health
from destinations.services import CredentialInput, connection_update
from tests.faults.conftest import STREAM, drain, issue_attempts, run_figures
from tests.support.consumer import mismatches, tally
from tests.support.local_kinesis import REGION

pytestmark = pytest.mark.fault


def failing_runs(dataflow, count):
    """`count` runs that each stop on the fault (waiting out retry_at in between)."""
    stopped = []
    for report in drain_reports(dataflow):
        if report.state == "stopped":
            stopped.append(report)
            if len(stopped) == count:
                return stopped
    raise AssertionError(f"only {len(stopped)} failed runs")


def drain_reports(dataflow, limit=200):
    import time

    for _ in range(limit):
        report = dataflow_run(dataflow_id=dataflow.pk)
        yield report
        if report.state == "waiting_retry":
            time.sleep(0.05)


def open_alerts(dataflow):
    return Alert.objects.filter(dataflow=dataflow, resolved_at__isnull=True)


def test_endpoint_down_shows_the_delay_alerts_once_then_everything_arrives(
    local_kinesis, world, queued_runs, client
):
    dataflow = world.dataflow(stream=STREAM)
    first = world.ingest(range(200))
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 200)
    local_kinesis.stop()
    world.ingest(range(100, 400), version="v2")

    failing_runs(dataflow, 1)

    # From the first failed run on, both pages say what is wrong (no alert yet).
    delayed = (
        "Delivery delayed: Kinesis cannot be reached; 300 profiles are waiting. "
        "Retrying automatically; nothing to do."
    )
    client.force_login(world.user)
    for page in ("activation:dataflow_detail", "activation:dataflow_list"):
        args = [dataflow.pk] if page.endswith("detail") else []
        html = client.get(reverse(page, args=args)).content.decode()
        assert "Delivery delayed: Kinesis cannot be reached" in html, page
    assert not open_alerts(dataflow).exists()
    runs = failing_runs(dataflow, DELAY_ALERT_AFTER_FAILURES + 1)

    assert {r.error_code for r in runs} == {"EndpointUnreachable"}
    dataflow.refresh_from_db()
    assert dataflow.status == DataflowStatus.ENABLED
    assert dataflow.failure_count == DELAY_ALERT_AFTER_FAILURES + 2
    assert (dataflow.status_message, dataflow.last_error_code) == (delayed, "EndpointUnreachable")
    alert = open_alerts(dataflow).get()
    assert (
        alert.title == f"Dataflow “{dataflow.name}”: deliveries delayed, Kinesis cannot be reached"
    )
    assert alert.occurrences == 3 and "Exception" not in alert.message
    page = client.get(reverse("activation:dataflow_detail", args=[dataflow.pk])).content.decode()
    assert "deliveries delayed, Kinesis cannot be reached" in page, "the open alert is on the page"
    assert DeliveryLog.objects.count() == 200, "nothing pending was counted as sent"
    # An unreachable endpoint proves nothing about the connection: never Failing.
    assert Connection.objects.get(pk=dataflow.connection_id).health != Health.FAILING
    # 400 distinct profiles: 100..199 were delivered, then their change failed; 300 wait.
    assert run_figures(dataflow) == (400, 100, 0, 300, 0)
    # One row per profile; its attempts add up every resend of every failed run.
    failed = issue_attempts(dataflow)
    assert {kind for kind, _ in failed} == {"failed"} and sum(failed.values()) == 300
    assert min(attempts for _, attempts in failed) >= DELAY_ALERT_AFTER_FAILURES + 2

    local_kinesis.start()
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 500)

    dataflow.refresh_from_db()
    assert (dataflow.failure_count, dataflow.status_message) == (0, "")
    assert not open_alerts(dataflow).exists()
    assert Connection.objects.get(pk=dataflow.connection_id).health == Health.OK
    # Each profile once, delivered (those 300 after 8 attempts); the run reads Success.
    assert run_figures(dataflow) == (400, 400, 0, 0, 300)
    assert {kind for kind, _ in issue_attempts(dataflow)} == {"retried"}
    assert sum(issue_attempts(dataflow).values()) == 300
    assert set(ExportRun.objects.filter(dataflow=dataflow).values_list("status", flat=True)) == {
        "success"
    }
    entries = local_kinesis.read_stream(STREAM)
    assert tally(entries).entries == 500
    assert set(first) < all_profile_ids()
    assert mismatches(dataflow=dataflow, profile_ids=all_profile_ids(), entries=entries) == []


def all_profile_ids():
    from profiles.models import Profile

    return set(Profile.objects.values_list("id", flat=True))


def test_revoked_credentials_stop_with_a_clear_error_until_replaced(
    local_kinesis, world, queued_runs
):
    key_id, secret = local_kinesis.create_user_key("exporter")
    local_kinesis.set_iam_auth(enabled=True)
    connection = world.connection(stream=STREAM, key=(key_id, secret))
    dataflow = world.dataflow(connection=connection)
    world.ingest(range(100))
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 100)
    local_kinesis.revoke_key("exporter", key_id)
    world.ingest(range(50, 300), version="v2")

    runs = failing_runs(dataflow, 3)

    # AWS answers UnrecognizedClientException, moto InvalidClientTokenId: both mean a dead key.
    assert {r.error_code for r in runs} <= {"UnrecognizedClientException", "InvalidClientTokenId"}
    dataflow.refresh_from_db()
    assert dataflow.status == DataflowStatus.ERROR
    assert dataflow.status_message == (
        "Cannot deliver: AWS no longer accepts the connection's access key (revoked or "
        "deleted); 250 profiles are waiting. Needs you: enter a new access key on the "
        "connection; everything pending is sent right after."
    )
    assert secret not in dataflow.status_message
    # The export proved the connection failing at once, with one alert for the cause.
    connection.refresh_from_db()
    assert connection.health == Health.FAILING
    assert connection.health_message.startswith("AWS no longer accepts the connection's access")
    [alert] = Alert.objects.filter(resolved_at__isnull=True)
    assert alert.kind == "connection_unhealthy" and alert.occurrences == 3
    assert alert.title == (
        f"Connection “{connection.name}” is unhealthy: AWS no longer accepts the connection's "
        "access key (revoked or deleted)"
    )
    assert DeliveryLog.objects.count() == 100
    # 300 distinct profiles: 50..99 were delivered, then their change failed.
    assert run_figures(dataflow) == (300, 50, 0, 250, 0)

    new_id, new_secret = local_kinesis.create_user_key("exporter")
    connection_update(
        connection=connection,
        name=connection.name,
        description="",
        include_segment_names=True,
        include_segment_timestamps=False,
        alerts_enabled=True,
        credentials=CredentialInput(
            auth_method=AuthMethod.ACCESS_KEYS,
            region=REGION,
            access_key_id=new_id,
            secret_access_key=new_secret,
        ),
    )
    # Saving new credentials queues the failed dataflow's run at once.
    assert dataflow.pk in [dataflow_id for dataflow_id, _ in queued_runs]
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 350)

    dataflow.refresh_from_db()
    assert (dataflow.status, dataflow.status_message) == (DataflowStatus.ENABLED, "")
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()
    connection.refresh_from_db()
    assert (connection.health, connection.health_message) == (Health.OK, "")
    # Delivered with the new key after 3 failed attempts: activated, not failed.
    assert run_figures(dataflow) == (300, 300, 0, 0, 250)
    assert issue_attempts(dataflow) == {("retried", 4): 250}
    entries = local_kinesis.read_stream(STREAM)
    assert tally(entries).entries == 350
    assert mismatches(dataflow=dataflow, profile_ids=all_profile_ids(), entries=entries) == []
    assert Dataflow.objects.get(pk=dataflow.pk).failure_count == 0


def test_a_deleted_stream_fails_the_connection_at_once_and_recovers_when_recreated(
    local_kinesis, world, queued_runs
):
    dataflow = world.dataflow(stream=STREAM)
    world.ingest(range(10))
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 10)
    local_kinesis.boto("kinesis").delete_stream(StreamName=STREAM, EnforceConsumerDeletion=True)
    world.ingest(range(1), version="v2")

    failing_runs(dataflow, 4)

    dataflow.refresh_from_db()
    connection = Connection.objects.get(pk=dataflow.connection_id)
    assert dataflow.status == DataflowStatus.ERROR
    assert dataflow.status_message == (
        f"Cannot deliver: the stream “{STREAM}” does not exist; 1 profile is waiting. "
        "Retrying automatically; nothing to do once the stream exists again."
    )
    assert dataflow.last_error_code == "ResourceNotFoundException"
    # Never Healthy beside an Error of the same cause; one alert, for the connection.
    assert connection.health == Health.FAILING
    [alert] = Alert.objects.filter(resolved_at__isnull=True)
    assert alert.kind == "connection_unhealthy" and alert.occurrences == 4
    assert "ResourceNotFoundException" not in alert.title + alert.message
    # One changed profile that failed 4 times is 1 failed profile, not 4.
    assert run_figures(dataflow) == (10, 9, 0, 1, 0)
    assert issue_attempts(dataflow) == {("failed", 4): 1}

    local_kinesis.create_stream(STREAM)
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 11)

    dataflow.refresh_from_db()
    connection.refresh_from_db()
    assert (dataflow.status, dataflow.status_message) == (DataflowStatus.ENABLED, "")
    # Never Failing beside a dataflow that delivers: the delivery proved it healthy.
    assert connection.health == Health.OK
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()
    assert run_figures(dataflow) == (10, 10, 0, 0, 1)
    assert issue_attempts(dataflow) == {("retried", 5): 1}
    assert set(ExportRun.objects.filter(dataflow=dataflow).values_list("status", flat=True)) == {
        "success"
    }


def test_an_outage_shows_while_it_lasts_and_clears_when_delivery_resumes(
    local_kinesis, world, queued_runs, settings
):
    import threading
    import time

    from django.db import connection as db

    from tests.conftest import wait_for

    # The run keeps retrying through the outage (it does not give up and stop).
    settings.EXPORT_STUCK_AFTER_S = 120
    dataflow = world.dataflow(stream=STREAM)
    world.ingest(range(50))
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 50)
    local_kinesis.stop()
    world.ingest(range(50), version="v2")
    reports = []

    def run() -> None:
        try:
            reports.append(dataflow_run(dataflow_id=dataflow.pk))
        finally:
            db.close()

    started = time.monotonic()
    worker = threading.Thread(target=run)
    worker.start()

    def message() -> str:
        return Dataflow.objects.values_list("status_message", flat=True).get(pk=dataflow.pk)

    wait_for(lambda: message() != "", seconds=5, every=0.05)
    assert time.monotonic() - started <= 5
    assert message() == (
        "Delivery delayed: Kinesis cannot be reached; 50 profiles are waiting. "
        "Retrying automatically; nothing to do."
    )
    assert worker.is_alive(), "shown while the run retries, not once it gives up"

    local_kinesis.start()
    worker.join(timeout=60)

    assert [r.state for r in reports] == ["caught_up"]
    assert message() == ""
    assert DeliveryLog.objects.count() == 100
    assert run_figures(dataflow) == (50, 50, 0, 0, 50)
