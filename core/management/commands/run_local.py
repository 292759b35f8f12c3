"""`make run`: the whole product on one laptop, stopped by one Ctrl-C.

Starts a local Kinesis endpoint (moto server) with a demo stream, a Celery
worker, Celery beat and the web server, after migrating and creating the demo
login and demo data. Every child runs in its own process group so Ctrl-C (or
SIGTERM) stops all of them and nothing is left behind.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

DEMO_STREAM = "demo-stream"


class Command(BaseCommand):
    help = "Run the product locally: moto Kinesis endpoint, worker, beat and web server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--demo-profiles", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "DEMO_USER_ALLOWED", False):
            raise CommandError("run_local is for the local setup only (config.settings.local).")
        endpoint = settings.KINESIS_ENDPOINT_URL
        if not endpoint:
            raise CommandError("KINESIS_ENDPOINT_URL must name the local endpoint.")
        self.children: list[subprocess.Popen] = []
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start_endpoint(endpoint)
            call_command("migrate", interactive=False, verbosity=0)
            call_command("ensure_demo_user")
            self._create_demo_stream()
            self._create_demo_data(options["demo_profiles"])
            self._start_services(options["port"])
            self._wait_for_web(options["port"])
            self._announce(options["port"])
            self._supervise()
        finally:
            self._stop_children()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        self.stdout.write(f"starting {name}: {' '.join(argv)}")
        child = subprocess.Popen(argv, start_new_session=True)
        child.name = name  # type: ignore[attr-defined]
        self.children.append(child)
        return child

    def _start_endpoint(self, endpoint: str) -> None:
        if _answers(endpoint):
            self.stdout.write(f"local Kinesis endpoint already answering at {endpoint}")
            return
        port = endpoint.rsplit(":", 1)[-1].strip("/")
        self._spawn(
            "kinesis endpoint (moto)",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", port],
        )
        _wait_until(lambda: _answers(endpoint), what=f"moto server at {endpoint}")

    def _create_demo_stream(self) -> None:
        import boto3

        client = boto3.client(
            "kinesis",
            endpoint_url=settings.KINESIS_ENDPOINT_URL,
            region_name="us-east-1",
            aws_access_key_id="AKIADEMODEMODEMO0000",
            aws_secret_access_key="demo-secret",
        )
        if DEMO_STREAM not in client.list_streams().get("StreamNames", []):
            client.create_stream(StreamName=DEMO_STREAM, ShardCount=2)
        self.stdout.write(f"demo stream ready: {DEMO_STREAM} (us-east-1, 2 shards)")

    def _create_demo_data(self, profiles: int) -> None:
        if "generate_demo_data" not in get_commands():
            return
        from profiles.models import Profile

        if Profile.objects.exists():
            self.stdout.write("demo data already present")
            return
        call_command("generate_demo_data", profiles=profiles, segments=5, seed=42)

    def _start_services(self, port: int) -> None:
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        self._spawn("celery worker", [*celery, "worker", "--loglevel", "INFO"])
        self._spawn("celery beat", [*celery, "beat", "--loglevel", "INFO"])
        self._spawn(
            "web server",
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        )

    def _wait_for_web(self, port: int) -> None:
        url = f"http://127.0.0.1:{port}/healthz"
        _wait_until(lambda: _answers(url), what=f"web server at {url}")

    def _announce(self, port: int) -> None:
        from core.management.commands.ensure_demo_user import DEMO_PASSWORD, DEMO_USERNAME

        line = "=" * 64
        self.stdout.write(
            f"\n{line}\n  Open http://127.0.0.1:{port}/\n"
            f"  Log in as {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
            f"  Local Kinesis endpoint: {settings.KINESIS_ENDPOINT_URL}"
            f" (stream {DEMO_STREAM})\n  Ctrl-C stops everything.\n{line}\n"
        )

    def _supervise(self) -> None:
        while True:
            for child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{child.name} exited with code {child.returncode}")
            time.sleep(0.5)

    def _on_signal(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def _stop_children(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in reversed(self.children):
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in reversed(self.children):
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.wait()
        if self.children:
            self.stdout.write("stopped every process run_local started")


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _wait_until(check: Any, *, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise CommandError(f"{what} did not come up within {seconds:.0f} s")
