"""Structured logs: the context on every line, request ids, and nothing secret at INFO."""

import json
import logging

import pytest

from core.observability import logging as log
from core.observability import worker
from core.observability.logging import ContextFilter, JsonFormatter, TextFormatter


def a_record(message: str = "exported %s records", *args: object) -> logging.LogRecord:
    record = logging.LogRecord("activation.export", logging.INFO, __file__, 1, message, args, None)
    ContextFilter().filter(record)
    return record


def test_json_lines_carry_the_context():
    with log.log_context(
        request_id="req-1", user="7", dataflow_id=12, run_id="ab12", task_id="t-9"
    ):
        line = JsonFormatter().format(a_record("exported %s records", 500))
    assert "\n" not in line
    document = json.loads(line)
    assert document["message"] == "exported 500 records"
    assert (document["level"], document["logger"]) == ("INFO", "activation.export")
    assert "timestamp" in document
    assert {k: document[k] for k in ("request_id", "user", "dataflow_id", "run_id", "task_id")} == {
        "request_id": "req-1",
        "user": "7",
        "dataflow_id": 12,
        "run_id": "ab12",
        "task_id": "t-9",
    }


def test_a_logged_request_object_never_brings_its_query_string():
    from django.test import RequestFactory

    request = RequestFactory().get("/dataflows/deliveries/?identity=email:jane@example.com")
    record = a_record("Not Found: %s", request.path)
    record.request, record.status_code = request, 404
    document = json.loads(JsonFormatter().format(record))
    assert document["status_code"] == 404
    assert "jane@example.com" not in json.dumps(document)


def test_text_lines_are_readable_with_the_context_appended():
    with log.log_context(dataflow_id=3, run_id="cafe"):
        line = TextFormatter().format(a_record("run done"))
    assert line.endswith("INFO activation.export run done [dataflow_id=3 run_id=cafe]")
    assert TextFormatter().format(a_record("plain")).endswith("INFO activation.export plain")


def test_the_context_ends_with_its_block():
    with log.log_context(dataflow_id=1):
        with log.log_context(run_id="r"):
            assert log.current_context() == {"dataflow_id": 1, "run_id": "r"}
        assert log.current_context() == {"dataflow_id": 1}
    assert log.current_context() == {}


@pytest.mark.django_db
def test_a_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-4f1c.22"})
    assert given["X-Request-ID"] == "lb-4f1c.22"
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32
    unsafe = client.get("/healthz", headers={"X-Request-ID": "x" * 300})
    assert unsafe["X-Request-ID"] != "x" * 300


@pytest.mark.django_db
def test_the_access_log_line_has_the_request_id_and_user(logged_in_client, user, caplog):
    with caplog.at_level(logging.INFO, logger="streamline.http"):
        response = logged_in_client.get("/dataflows/?identity=email:jane@example.com")
    [line] = [r for r in caplog.records if r.name == "streamline.http"]
    assert line.request_id == response["X-Request-ID"]
    assert line.user == str(user.pk)
    assert (line.route, line.status) == ("activation:dataflow_list", 200)
    assert "jane@example.com" not in line.getMessage(), "query strings stay out of logs"


def test_a_task_carries_the_request_id_that_queued_it():
    headers: dict = {}
    with log.log_context(request_id="req-42"):
        worker._carry_request_id(headers=headers)
    assert headers == {"request_id": "req-42"}

    class Task:
        name = "activation.tasks.dataflow_run_task"

        class request:  # noqa: N801 - Celery's attribute name
            request_id = "req-42"

    worker._on_task_prerun(task_id="t-1", task=Task())
    try:
        assert log.current_context() == {
            "task_id": "t-1",
            "task": "activation.tasks.dataflow_run_task",
            "request_id": "req-42",
        }
    finally:
        worker._on_task_postrun(task_id="t-1", task=Task(), state="SUCCESS")
    assert log.current_context() == {}
