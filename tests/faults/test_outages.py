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
from activation.models import Dataflow, DataflowStatus, DeliveryLog
from alerts.models import Alert
from destinations.models import AuthMethod
from destinations.services import CredentialInput, connection_update
from tests.faults.conftest import STREAM, drain
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
    client.force_login(world.user)
    for page in ("activation:dataflow_detail", "activation:dataflow_list"):
        args = [dataflow.pk] if page.endswith("detail") else []
        html = client.get(reverse(page, args=args)).content.decode()
        assert "Delivery delayed (EndpointUnreachable)" in html, page
    assert not open_alerts(dataflow).exists()
    runs = failing_runs(dataflow, DELAY_ALERT_AFTER_FAILURES + 1)

    assert {r.error_code for r in runs} == {"EndpointUnreachable"}
    dataflow.refresh_from_db()
    assert dataflow.status == DataflowStatus.ENABLED
    assert dataflow.failure_count == DELAY_ALERT_AFTER_FAILURES + 2
    assert "Delivery delayed (EndpointUnreachable)" in dataflow.status_message
    alert = open_alerts(dataflow).get()
    assert "EndpointUnreachable" in alert.title and alert.occurrences == 3
    page = client.get(reverse("activation:dataflow_detail", args=[dataflow.pk])).content.decode()
    assert "deliveries delayed (EndpointUnreachable)" in page, "the open alert is on the page"
    assert DeliveryLog.objects.count() == 200, "nothing pending was counted as sent"

    local_kinesis.start()
    drain(dataflow.pk, until=lambda: DeliveryLog.objects.count() >= 500)

    dataflow.refresh_from_db()
    assert (dataflow.failure_count, dataflow.status_message) == (0, "")
    assert not open_alerts(dataflow).exists()
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
    assert "does not recognise the access key ID" in dataflow.status_message
    assert key_id[:4] in dataflow.status_message and secret not in dataflow.status_message
    alert = open_alerts(dataflow).get()
    assert alert.occurrences == 3 and "stopped" in alert.title
    assert DeliveryLog.objects.count() == 100

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
    assert not open_alerts(dataflow).exists()
    entries = local_kinesis.read_stream(STREAM)
    assert tally(entries).entries == 350
    assert mismatches(dataflow=dataflow, profile_ids=all_profile_ids(), entries=entries) == []
    assert Dataflow.objects.get(pk=dataflow.pk).failure_count == 0
