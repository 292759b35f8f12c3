"""`make run`: the whole product on one laptop, stopped by one Ctrl-C.

Starts a local Kinesis endpoint (moto server) with a demo stream, a Celery
worker, Celery beat and the web server, after migrating and creating the demo
login and demo data. Every child runs in its own process group so Ctrl-C (or
SIGTERM) stops all of them and nothing is left behind.

The runner supervises its children:

- a child that exits is started again after a pause that doubles with each
  quick failure (1 s up to 30 s; back to 1 s once it has run for a minute),
  each restart logged, so one crashed worker never takes the product down;
- no child outlives the runner, even when the runner is killed with SIGKILL:
  on Linux each child asks the kernel for SIGTERM when its parent dies
  (prctl PR_SET_PDEATHSIG); and every child is recorded in `var/run_local.pid`,
  so the next start stops whatever an earlier runner left behind (its process
  group, only if it is still the very process recorded) instead of finding
  the ports taken.
"""

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

DEMO_STREAM = "demo-stream"
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
# A child that ran this long before exiting starts again after the first delay.
STABLE_AFTER_S = 60.0
STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    argv: list[str]
    after_start: Callable[[], None] | None = None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    restarts: int = field(default=0)


def restart_delay(quick_failures: int) -> float:
    """Seconds before the next start after `quick_failures` failures in a row."""
    return min(RESTART_MAX_DELAY_S, RESTART_FIRST_DELAY_S * 2 ** max(0, quick_failures - 1))


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
        self.children: list[Child] = []
        self.pid_file = Path(settings.VAR_DIR) / "run_local.pid"
        self._stop_leftovers()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start_endpoint(endpoint)
            call_command("migrate", interactive=False, verbosity=0)
            call_command("ensure_demo_user")
            self._create_demo_data(options["demo_profiles"])
            self._start_services(options["port"])
            self._wait_for_web(options["port"])
            self._announce(options["port"])
            self._supervise()
        finally:
            self._stop_children()

    # --- children -----------------------------------------------------------

    def _spawn(
        self, name: str, argv: list[str], after_start: Callable[[], None] | None = None
    ) -> Child:
        child = Child(name=name, argv=argv, after_start=after_start)
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv, start_new_session=True, preexec_fn=_die_with_parent(os.getpid())
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        command = " ".join(child.argv)
        self.stdout.write(f"starting {child.name} (pid {child.process.pid}): {command}")
        self._write_pid_file()
        if child.after_start is not None:
            child.after_start()

    def _start_endpoint(self, endpoint: str) -> None:
        if _answers(endpoint):
            self.stdout.write(f"local Kinesis endpoint already answering at {endpoint}")
            self._create_demo_stream()
            return

        def ready() -> None:  # also after a restart: moto keeps its streams in memory
            _wait_until(lambda: _answers(endpoint), what=f"moto server at {endpoint}")
            self._create_demo_stream()

        port = endpoint.rsplit(":", 1)[-1].strip("/")
        self._spawn(
            "kinesis endpoint (moto)",
            [sys.executable, "-m", "core.local_kinesis", "-H", "127.0.0.1", "-p", port],
            after_start=ready,
        )

    def _create_demo_stream(self) -> None:
        from destinations.kinesis import aws

        # The local endpoint accepts any key; the product's AWS seam talks to it as to AWS.
        demo = aws.AwsCredentials(
            region="us-east-1",
            access_key_id="AKIADEMODEMODEMO0000",
            secret_access_key="demo-secret",
        )
        aws.create_stream_unless_present(demo, DEMO_STREAM, shards=2)
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

    # --- supervision ----------------------------------------------------------

    def _supervise(self) -> None:
        while True:
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.restarts += 1
                        self._start(child)
                elif child.process is not None and child.process.poll() is not None:
                    self._schedule_restart(child, now)
            time.sleep(0.5)

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.process is not None
        # What the dead child left in its group (a worker's pool processes).
        _signal_group(child.process, signal.SIGKILL)
        ran_for = now - child.started_at
        child.quick_failures = 1 if ran_for >= STABLE_AFTER_S else child.quick_failures + 1
        delay = restart_delay(child.quick_failures)
        child.restart_at = now + delay
        self.stderr.write(
            f"{child.name} (pid {child.process.pid}) exited with code "
            f"{child.process.returncode} after {ran_for:.0f} s; restarting it in {delay:.0f} s "
            f"(restart {child.restarts + 1}); the rest of the product keeps running"
        )

    def _on_signal(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def _stop_children(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        running = []
        for child in reversed(self.children):
            if child.process is None or child.restart_at is not None:
                continue  # waiting for a restart: gone already, its group killed with it
            if child.process.poll() is None:
                running.append(child.process)
            else:  # died unnoticed: what it left in its group
                _signal_group(child.process, signal.SIGKILL)
        _stop_groups(running)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        if self.children:
            self.stdout.write("stopped every process run_local started")

    # --- the pid file: what an earlier runner may have left behind ----------

    def _write_pid_file(self) -> None:
        record = {
            "runner": _identity(os.getpid()),
            "children": [
                {"name": c.name, **_identity(c.process.pid)}
                for c in self.children
                if c.process is not None and c.process.poll() is None
            ],
        }
        temporary = self.pid_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(self.pid_file)

    def _stop_leftovers(self) -> None:
        try:
            record = json.loads(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        runner = record.get("runner") or {}
        if _is_running(runner):
            raise CommandError(
                f"run_local is already running (pid {runner['pid']}); stop it with Ctrl-C "
                "(or `kill` that pid) before starting another."
            )
        leftovers = [c for c in record.get("children", []) if _is_running(c)]
        for leftover in leftovers:
            self.stdout.write(
                f"stopping {leftover['name']} (pid {leftover['pid']}), left running by an "
                f"earlier run_local (pid {runner.get('pid')}) that did not stop cleanly"
            )
        _stop_groups([_Orphan(c["pid"], c["start"]) for c in leftovers])
        self.pid_file.unlink(missing_ok=True)


# --- processes -----------------------------------------------------------------


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


_LIBC = _libc()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn: the child gets SIGTERM when the runner dies, however it dies."""

    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the runner died before prctl took effect
            os._exit(1)

    return setup


class _Orphan:
    """A recorded process of an earlier runner, stopped like our own children."""

    def __init__(self, pid: int, start: str) -> None:
        self.pid, self.start = pid, start

    def poll(self) -> int | None:
        return None if _started(self.pid) == self.start else 0


def _stop_groups(processes: list[Any]) -> None:
    """SIGTERM each process group, then SIGKILL what is still there after a grace."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if isinstance(process, subprocess.Popen):
            _signal_group(process, signal.SIGKILL)  # our child: its pid is ours until waited
            process.wait()
        elif process.poll() is None:  # an orphan, checked again: its pid may be reused
            _signal_group(process, signal.SIGKILL)


def _signal_group(process: Any, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _started(pid: int) -> str | None:
    """When process `pid` started (opaque text), None when no such process runs."""
    stat = _stat_fields(pid)
    if stat is not None:
        return None if stat[0] == "Z" else stat[19]  # state, and start time in clock ticks
    if Path("/proc/self/stat").exists():
        return None  # /proc works here: the process is gone
    return _started_by_ps(pid)  # macOS and other systems without /proc


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # fields from the state on (comm may hold spaces)


def _started_by_ps(pid: int) -> str | None:
    try:
        answer = subprocess.run(
            ["ps", "-o", "lstart=,stat=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    started, _, state = answer.rpartition(" ")
    return None if not answer or state.startswith("Z") else started


def _identity(pid: int) -> dict[str, Any]:
    """A pid plus its start time, so a recycled pid is never mistaken for ours."""
    return {"pid": pid, "start": _started(pid)}


def _is_running(recorded: dict[str, Any]) -> bool:
    pid = recorded.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return False
    started = _started(pid)
    return started is not None and started == recorded.get("start")


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
