"""`make prod-smoke`: the product in production mode, end to end, then stopped.

Production settings with throwaway keys, gunicorn (2 workers), two Celery
workers and beat on PostgreSQL and Redis, a moto server as the Kinesis
endpoint. Through the API it creates a connection and a dataflow (backfill of
the demo segments) and ingests profiles; it waits for the export, reads the
stream back, scrapes `/metrics` and requires the figures to match what reached
the stream, checks `/readyz`, then stops everything with SIGTERM (graceful
shutdown) and prints the scraped figures next to the stream's count.

Environment: DATABASE_URL (a PostgreSQL server: a throwaway database
<name>_prod_smoke is created next to it and dropped after) and
CELERY_BROKER_URL (a Redis database, used as broker and cache). PROD_PYTHON:
the interpreter of an environment holding only the runtime lock (`make
prod-smoke` builds var/prod-venv), so a runtime dependency missing from
requirements.lock fails here; the harness itself (moto server) runs from .venv.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.local_kinesis import LocalKinesisProcess, free_port  # noqa: E402
from tests.support.metrics import Scrape  # noqa: E402

STREAM = "prod-smoke"
# The product's processes (manage.py, gunicorn, Celery) run on production's packages.
PRODUCT_PYTHON = os.environ.get("PROD_PYTHON") or sys.executable
DEMO_PROFILES = 400
INGESTED = 30
DEADLINE_S = 120
# E-mail identities of some current segment members (printed one per line) that the
# demo consent policy lets through (governance/demo.py): each must reach the stream.
MEMBER_EMAILS = (
    "from profiles.models import Identity, SegmentMembership\n"
    "members = SegmentMembership.objects.filter(status__in=['realized', 'existing'], "
    "profile__attributes__consents__marketing__email=True)\n"
    "emails = Identity.objects.filter(namespace='email', profile_id__in="
    "members.values('profile_id')).order_by('value').values_list('value', flat=True)\n"
    f"print('\\n'.join(list(dict.fromkeys(emails))[:{INGESTED}]))"
)


def say(message: str) -> None:
    print(f"prod-smoke: {message}", flush=True)


class Stack:
    """The processes of a production deployment on this machine."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PRODUCT_PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, name: str, *command: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited early:\n{self.log(name)[-3000:]}")

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to each process (graceful), SIGKILL what is left after 40 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + 40
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes[name] = None
        self.processes.clear()
        return codes


class Http:
    def __init__(self, base: str, token: str = "") -> None:
        self.base = base
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, method=method)
        # The TLS-terminating proxy production sits behind (SECURE_PROXY_SSL_HEADER).
        request.add_header("X-Forwarded-Proto", "https")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, data=data, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, b""  # not listening (yet), or still booting on a loaded machine

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, content = self.call(method, path, body)
        if status != expect:
            raise SystemExit(f"{method} {path}: {status} (expected {expect}) {content[:2000]!r}")
        return json.loads(content)


def wait(check: Callable[[], bool], what: str, stack: Stack, seconds: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.alive()
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def first_names(entries: list) -> set[str]:
    return {e.document.get("person", {}).get("name", {}).get("firstName") for e in entries}


def database_urls(url: str) -> tuple[str, str, str]:
    """(the smoke database's URL, its name, the server's maintenance database URL)."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'streamline'}_prod_smoke"
    return (
        urlunsplit(parts._replace(path=f"/{name}")),
        name,
        urlunsplit(parts._replace(path="/postgres")),
    )


def recreate_database(maintenance_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    from cryptography.fernet import Fernet

    started = time.monotonic()
    base_db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/streamline")
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    if not base_db.startswith("postgres") or not broker.startswith("redis"):
        raise SystemExit(
            "prod-smoke needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://..."
        )
    db_url, db_name, maintenance_url = database_urls(base_db)
    work = Path(tempfile.mkdtemp(prefix="prod-smoke-"))
    (work / "metrics").mkdir()
    (work / "logs").mkdir()
    port = free_port()
    kinesis = LocalKinesisProcess()
    metrics_token = secrets.token_urlsafe(24)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KINESIS_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        # Throwaway keys: production must never run on the repository's development keys.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": broker,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "KINESIS_ENDPOINT_URL": kinesis.url,
        "STS_ENDPOINT_URL": kinesis.url,
        "IAM_ENDPOINT_URL": kinesis.url,
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        "METRICS_TOKEN": metrics_token,
        "VAR_DIR": str(work / "var"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "CELERY_WORKER_CONCURRENCY": "1",
        "LOG_LEVEL": "INFO",
    }
    stack = Stack(env, work / "logs")
    ok = False
    try:
        recreate_database(maintenance_url, db_name)
        kinesis.start()
        kinesis.create_stream(STREAM, shards=2)
        stack.manage("migrate", "--noinput")
        stack.manage("check", "--deploy", "--fail-level", "ERROR")
        stack.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_superuser('smoke', 'smoke@example.com', "
            f"'{secrets.token_urlsafe(16)}')",
        )
        api_token = stack.manage("api_token", "smoke").strip().splitlines()[-1]
        stack.manage("generate_demo_data", "--profiles", str(DEMO_PROFILES), "--segments", "2")
        member_emails = stack.manage("shell", "--no-imports", "-c", MEMBER_EMAILS).split()
        assert len(member_emails) == INGESTED, member_emails
        say(f"database {db_name} migrated, demo data created ({time.monotonic() - started:.0f} s)")

        python = PRODUCT_PYTHON
        stack.start("web", python, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn_conf.py")
        for n in (1, 2):
            stack.start(
                f"worker{n}",
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-c",
                "1",
                "-n",
                f"smoke{n}@%h",
                "--without-mingle",
                "--without-gossip",
            )
        stack.start("beat", python, "-m", "celery", "-A", "config", "beat")
        web = Http(f"http://127.0.0.1:{port}", api_token)
        wait(lambda: web.call("GET", "/healthz")[0] == 200, "the web server", stack)
        wait(lambda: all("ready" in stack.log(f"worker{n}") for n in (1, 2)), "the workers", stack)
        say(f"gunicorn, two workers and beat are up ({time.monotonic() - started:.0f} s)")

        ready = web.json("GET", "/readyz")
        assert ready["status"] == "ok", ready

        connection = web.json(
            "POST",
            "/api/v1/connections",
            {
                "name": "Smoke stream",
                "connectionSpec": {"id": "kinesis", "version": "1.0"},
                "auth": {
                    "specName": "Access Key",
                    "params": {
                        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                        "secretKey": "smoke/secret/never/logged/0123456789abcd",
                        "region": "us-east-1",
                    },
                },
                "params": {"stream": STREAM},
            },
            expect=201,
        )
        segments = web.json("GET", "/api/v1/segments")["items"]
        dataflow = web.json(
            "POST",
            "/api/v1/dataflows",
            {
                "name": "Smoke dataflow",
                "connectionId": connection["id"],
                "segmentSelectors": {
                    "selectors": [
                        {"type": "PLATFORM_SEGMENT", "value": {"id": segment["id"]}}
                        for segment in segments
                    ]
                },
                "profileSelectors": {
                    "selectors": [
                        {"type": "JSON_PATH", "value": {"path": "person.name.firstName"}},
                        {"type": "JSON_PATH", "value": {"path": "personalEmail.address"}},
                    ]
                },
                "identitySelectors": {"selectors": [{"namespace": "email", "hashed": True}]},
            },
            expect=201,
        )
        label = str(dataflow["id"])
        say(f"connection {connection['id']} and dataflow {label} created through the API")

        # Changes after activation: members renamed through the ingestion API (each must
        # reach the stream with its new name), plus one bad record.
        renamed = {email: f"Renamed{n}" for n, email in enumerate(member_emails)}
        updates = [
            {
                "identityMap": {"email": [{"id": email}]},
                "attributes": {"person": {"name": {"firstName": name}}},
            }
            for email, name in renamed.items()
        ]
        status, _ = web.call("POST", "/api/v1/profiles", [*updates, {"identityMap": {"fax": []}}])
        assert status == 207, status

        scraper = Http(f"http://127.0.0.1:{port}", metrics_token)
        assert Http(f"http://127.0.0.1:{port}").call("GET", "/metrics")[0] == 401

        def scrape() -> Scrape:
            status, content = scraper.call("GET", "/metrics")
            assert status == 200, (status, content[:500])
            return Scrape(content.decode())

        state: dict[str, Any] = {}

        def settled() -> bool:
            scraped = scrape()
            delivered = scraped.value("streamline_export_records_delivered_total", dataflow=label)
            caught_up = (
                scraped.value("streamline_export_lag_seconds", dataflow=label) == 0
                and scraped.value("streamline_backfill_pending_profiles", dataflow=label) == 0
                and scraped.value("streamline_changelog_pending_rows", dataflow=label) == 0
            )
            # Task durations are recorded just after a task returns: wait for them too.
            tasks = scraped.value(
                "streamline_celery_task_duration_seconds_count",
                task="activation.tasks.dataflow_run_task",
            )
            if not (caught_up and delivered and tasks):
                return False
            entries = kinesis.read_stream(STREAM)
            state.update(scraped=scraped, entries=entries)
            # Every renamed member's change has reached the stream, and nothing else is left.
            return len(entries) == delivered and set(renamed.values()) <= first_names(entries)

        wait(settled, "the export to reach the stream and the metrics", stack)
        scraped, entries = state["scraped"], state["entries"]
        say(f"exported and scraped ({time.monotonic() - started:.0f} s)")

        report = [
            ("records read back from the stream", len(entries)),
            ("  distinct profiles (partition keys)", len({e.partition_key for e in entries})),
            (
                "  renamed members whose new name arrived",
                len(set(renamed.values()) & first_names(entries)),
            ),
            *(
                (f"{name}{{dataflow={label}}}", scraped.value(name, dataflow=label))
                for name in (
                    "streamline_export_records_delivered_total",
                    "streamline_export_records_failed_total",
                    "streamline_export_records_excluded_total",
                    "streamline_export_record_retries_total",
                    "streamline_export_putrecords_calls_total",
                    "streamline_export_putrecords_duration_seconds_count",
                    "streamline_export_lag_seconds",
                    "streamline_changelog_pending_rows",
                    "streamline_backfill_pending_profiles",
                )
            ),
            *(
                (
                    f"streamline_ingestion_records_total{{source=api,outcome={o}}}",
                    scraped.value("streamline_ingestion_records_total", source="api", outcome=o),
                )
                for o in ("accepted", "rejected")
            ),
            (
                "streamline_celery_task_duration_seconds_count{task=dataflow_run_task}",
                scraped.value(
                    "streamline_celery_task_duration_seconds_count",
                    task="activation.tasks.dataflow_run_task",
                ),
            ),
            (
                "streamline_http_requests_total{route=api:*}",
                sum(
                    sample.value
                    for sample in scraped.matching("streamline_http_requests_total")
                    if sample.labels.get("route", "").startswith("api:")
                ),
            ),
            (
                "streamline_celery_queue_length (all queues)",
                scraped.value("streamline_celery_queue_length"),
            ),
        ]
        width = max(len(name) for name, _ in report)
        print("\nprod-smoke figures (scraped from /metrics) next to the stream's count:")
        for name, value in report:
            print(f"  {name:<{width}}  {value:g}")
        print()

        values = dict(report)
        delivered = values[f"streamline_export_records_delivered_total{{dataflow={label}}}"]
        failures = [
            problem
            for problem, bad in (
                ("delivered != records in the stream", delivered != len(entries)),
                ("nothing was exported", not entries),
                (
                    "failed records",
                    values[f"streamline_export_records_failed_total{{dataflow={label}}}"],
                ),
                (
                    "no PutRecords calls counted",
                    not values[f"streamline_export_putrecords_calls_total{{dataflow={label}}}"],
                ),
                (
                    "ingestion accepted != posted",
                    values["streamline_ingestion_records_total{source=api,outcome=accepted}"]
                    != INGESTED,
                ),
                (
                    "ingestion rejected != 1",
                    values["streamline_ingestion_records_total{source=api,outcome=rejected}"] != 1,
                ),
                (
                    "no worker task durations reached the scrape",
                    not values[
                        "streamline_celery_task_duration_seconds_count{task=dataflow_run_task}"
                    ],
                ),
                (
                    "no API requests counted",
                    not values["streamline_http_requests_total{route=api:*}"],
                ),
                (
                    "no queue length figure",
                    not scraped.has("streamline_celery_queue_length"),
                ),
            )
            if bad
        ]
        ready = web.json("GET", "/readyz")
        if ready["status"] != "ok":
            failures.append(f"/readyz: {ready}")
        failures += log_problems(stack, secret="smoke/secret/never/logged/0123456789abcd")
        codes = stack.stop()
        say(f"stopped with SIGTERM: exit codes {codes}")
        failures += [
            f"{name} did not stop cleanly ({code})" for name, code in codes.items() if code != 0
        ]
        if failures:
            for problem in failures:
                say(f"FAILED: {problem}")
            return 1
        ok = True
        say(f"passed in {time.monotonic() - started:.0f} s")
        return 0
    finally:
        stack.stop()
        kinesis.stop()
        if not ok:
            for name in ("web", "worker1", "worker2", "beat"):
                path = work / "logs" / f"{name}.log"
                if path.exists():
                    print(
                        f"--- {name} (last lines) ---\n{path.read_text(errors='replace')[-2500:]}"
                    )
        recreate_database(maintenance_url, db_name, drop_only=True)
        shutil.rmtree(work, ignore_errors=True)


def log_problems(stack: Stack, *, secret: str) -> list[str]:
    """Production logs: JSON lines with the context; no secret anywhere."""
    problems = []
    web = [json.loads(line) for line in stack.log("web").splitlines() if line.startswith("{")]
    requests = [line for line in web if line.get("logger") == "streamline.http"]
    if not requests or not all(line.get("request_id") for line in requests):
        problems.append("web access lines are not JSON with a request_id")
    runs = [
        json.loads(line)
        for n in (1, 2)
        for line in stack.log(f"worker{n}").splitlines()
        if line.startswith("{") and "export run of dataflow" in line
    ]
    if not runs or not all(line.get("dataflow_id") and line.get("task_id") for line in runs):
        problems.append("worker export lines are not JSON with dataflow_id and task_id")
    for name in ("web", "worker1", "worker2", "beat"):
        if secret in stack.log(name):
            problems.append(f"the connection's secret appears in the {name} log")
    return problems


if __name__ == "__main__":
    sys.exit(main())
