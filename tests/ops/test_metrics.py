"""/metrics: who may read it, and that each figure counts what happened."""

import pytest
import redis
from django.conf import settings as django_settings

from activation.export.services import dataflow_run
from activation.export.sinks import MemorySink
from activation.tasks import dataflows_tick_task
from destinations.kinesis.aws import EntryResult, Throttled
from tests.support.world import person, upsert

TOKEN = "scrape-token-0123456789"


# --- access -----------------------------------------------------------------------


@pytest.mark.django_db
def test_open_under_local_and_test_settings(client):
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_refused_when_closed_and_nothing_is_configured(client, settings):
    settings.METRICS_OPEN = False
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.json()["error"]


@pytest.mark.django_db
def test_a_token_is_required_when_set(client, settings):
    settings.METRICS_OPEN, settings.METRICS_TOKEN = False, TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert b"streamline_http_requests_total" in response.content


@pytest.mark.django_db
def test_an_address_allow_list(client, settings):
    settings.METRICS_OPEN = False
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics").status_code == 200


def test_the_deploy_check_says_when_nobody_may_read_the_metrics(settings, monkeypatch, tmp_path):
    from core.observability.checks import metrics_access, metrics_directory

    settings.METRICS_OPEN, settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = False, "", []
    assert [m.id for m in metrics_access()] == ["observability.I001"]
    settings.METRICS_TOKEN = TOKEN
    assert metrics_access() == []
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    assert [m.id for m in metrics_directory()] == ["observability.E001"]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert metrics_directory() == []


def test_production_refuses_without_token_or_allow_list():
    from pathlib import Path

    source = (Path(django_settings.BASE_DIR) / "config/settings/production.py").read_text()
    assert "METRICS_OPEN = False" in source


# --- HTTP and ingestion -----------------------------------------------------------


@pytest.mark.django_db
def test_http_requests_are_counted_by_route_name_not_path(client, scrape):
    before = scrape()
    client.get("/healthz")
    client.get("/no/such/page/unmatched-path-marker")
    after = scrape()
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    assert after.value("streamline_http_requests_total", **labels) == (
        before.value("streamline_http_requests_total", **labels) + 1
    )
    assert (
        after.value("streamline_http_request_duration_seconds_count", route="healthz", method="GET")
        == before.value(
            "streamline_http_request_duration_seconds_count", route="healthz", method="GET"
        )
        + 1
    )
    assert after.has("streamline_http_requests_total", route="<unmatched>", status="404")
    client.generic("BREW", "/healthz")
    assert scrape().has("streamline_http_requests_total", route="healthz", method="other")
    assert "unmatched-path-marker" not in after.text


@pytest.mark.django_db
def test_ingestion_counts_accepted_and_rejected_records(client, user, scrape):
    from core.models import ApiToken

    _, token = ApiToken.issue(user=user, name="ops")
    before = scrape()
    bad = {"identityMap": {"fax": [{"id": "1"}]}, "attributes": {}}
    response = client.post(
        "/api/v1/profiles",
        data=[person(1), person(2), bad],
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 207
    after = scrape()
    for outcome, added in (("accepted", 2), ("rejected", 1)):
        name, labels = "streamline_ingestion_records_total", {"source": "api", "outcome": outcome}
        assert after.value(name, **labels) - before.value(name, **labels) == added


# --- export -----------------------------------------------------------------------


class ThrottledOnce(MemorySink):
    """Every entry's first attempt fails per record; the first call also fails whole."""

    def __init__(self) -> None:
        super().__init__()
        self.attempted: set[bytes] = set()
        self.whole_call_failed = False

    def put_records(self, entries):
        if not self.whole_call_failed:
            self.whole_call_failed = True
            raise Throttled("slow down")
        first = [data for data, _ in entries if data not in self.attempted]
        self.attempted.update(first)
        accepted = super().put_records([e for e in entries if e[0] not in first])
        results, taken = [], iter(accepted)
        for data, _ in entries:
            if data in first:
                results.append(
                    EntryResult(None, None, "ProvisionedThroughputExceededException", "busy")
                )
            else:
                results.append(next(taken))
        return results


@pytest.fixture
def changes_dataflow(world, queued_runs, settings):
    """An enabled dataflow exporting changes from now on (no backfill), fast retries."""
    settings.EXPORT_RETRY_BASE_S = settings.EXPORT_RETRY_CAP_S = 0.001
    return world.dataflow(backfill=False)


def test_export_figures_count_deliveries_retries_calls_and_lag(changes_dataflow, scrape):
    dataflow, label = changes_dataflow, str(changes_dataflow.pk)
    upsert(person(n) for n in range(120))

    waiting = scrape()
    assert waiting.value("streamline_changelog_pending_rows", dataflow=label) == 120
    assert waiting.value("streamline_export_lag_seconds", dataflow=label) > 0

    sink = ThrottledOnce()
    report = dataflow_run(dataflow_id=dataflow.pk, sink=sink)
    assert (report.state, report.delivered, report.excluded) == ("caught_up", 120, 0)

    done = scrape()

    def added(name, **labels):
        return done.value(name, dataflow=label, **labels) - waiting.value(
            name, dataflow=label, **labels
        )

    assert added("streamline_export_records_delivered_total") == sink.accepted == 120
    assert added("streamline_export_records_excluded_total") == 0
    assert added("streamline_export_records_failed_total") == 0
    # 120 entries failed once each per record, and one whole call of 120 failed.
    code = "ProvisionedThroughputExceededException"
    assert added("streamline_export_record_retries_total", code=code) == 240
    assert added("streamline_export_putrecords_calls_total", outcome="error") == 1
    assert added("streamline_export_putrecords_calls_total", outcome="partial") == 1
    assert added("streamline_export_putrecords_calls_total", outcome="ok") == 1
    assert added("streamline_export_putrecords_duration_seconds_count") == 3
    assert done.value("streamline_export_lag_seconds", dataflow=label) == 0
    assert done.value("streamline_changelog_pending_rows", dataflow=label) == 0
    assert done.value("streamline_dataflows", status="enabled") >= 1


class RefusesOne(MemorySink):
    """Refuses the record of one partition key every time, with a code about the record."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def put_records(self, entries):
        accepted = iter(super().put_records([e for e in entries if e[1] != self.key]))
        return [
            EntryResult(None, None, "InvalidArgumentException", "bad record")
            if key == self.key
            else next(accepted)
            for _, key in entries
        ]


def test_a_refused_record_is_excluded_with_its_code_and_not_counted_as_a_retry(
    changes_dataflow, scrape
):
    dataflow, label = changes_dataflow, str(changes_dataflow.pk)
    upsert(person(n) for n in range(10))
    before = scrape()
    report = dataflow_run(dataflow_id=dataflow.pk, sink=RefusesOne("ecid-5"))
    assert (report.delivered, report.excluded) == (9, 1)
    after = scrape()
    code = "InvalidArgumentException"
    for name, labels, added in (
        ("streamline_export_records_delivered_total", {}, 9),
        ("streamline_export_records_excluded_total", {"reason": code}, 1),
        ("streamline_export_record_retries_total", {}, 0),
    ):
        assert (
            after.value(name, dataflow=label, **labels)
            - before.value(name, dataflow=label, **labels)
            == added
        ), name


def test_backfill_pending_members(world, queued_runs, scrape):
    upsert(person(n) for n in range(30))
    dataflow = world.dataflow()
    label = str(dataflow.pk)
    assert scrape().value("streamline_backfill_pending_profiles", dataflow=label) == 30
    dataflow_run(dataflow_id=dataflow.pk, sink=MemorySink())
    assert scrape().value("streamline_backfill_pending_profiles", dataflow=label) == 0


def test_dataflow_labels_are_bounded(settings):
    from core.observability.metrics import OTHER, _DataflowLabels

    settings.METRICS_DATAFLOW_LABEL_LIMIT = 2
    labels = _DataflowLabels()
    assert [labels(n) for n in (7, 8, 9, 7, 10)] == ["7", "8", OTHER, "7", OTHER]


# --- Celery -----------------------------------------------------------------------


@pytest.mark.django_db
def test_task_durations_by_task_and_state(scrape):
    name = "activation.tasks.dataflows_tick_task"
    before = scrape()
    dataflows_tick_task.apply()
    after = scrape()
    metric = "streamline_celery_task_duration_seconds_count"
    assert after.value(metric, task=name, state="SUCCESS") == (
        before.value(metric, task=name, state="SUCCESS") + 1
    )


@pytest.mark.skipif(
    not django_settings.CELERY_BROKER_URL.startswith("redis"), reason="queue length is Redis's"
)
@pytest.mark.django_db
def test_queue_length_is_the_redis_list_length(scrape):
    from config.celery import app

    queue = app.conf.task_default_queue
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    waiting = client.llen(queue)
    client.rpush(queue, "a", "b", "c")
    try:
        assert scrape().value("streamline_celery_queue_length", queue=queue) == waiting + 3
    finally:
        client.ltrim(queue, 0, waiting - 1) if waiting else client.delete(queue)
