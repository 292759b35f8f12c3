"""`make run`'s supervisor (run_local) on free ports, as a user runs it:
a damaged broker message and a dead worker never take the product down, and
SIGKILL of the runner leaves nothing behind, so it starts again."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.management.commands.run_local import restart_delay
from tests.conftest import ROOT, wait_for
from tests.support.local_kinesis import free_port

STARTUP_S = 240
MANAGE = [sys.executable, "manage.py"]
SEND_TASK = (
    "from core.tasks import expired_sessions_clear_task; expired_sessions_clear_task.delay()"
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    """Living processes of a process group (a worker's pool processes included)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class LocalRun:
    def __init__(self, var_dir: Path, port: int, moto_port: int) -> None:
        self.var_dir, self.port = var_dir, port
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            VAR_DIR=str(var_dir),
            KINESIS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}",
            AWS_ENDPOINT_URL="",
            PYTHONUNBUFFERED="1",
        )
        self.runners: list[subprocess.Popen] = []

    def start(self, log: Path) -> subprocess.Popen:
        runner = subprocess.Popen(
            [*MANAGE, "run_local", "--port", str(self.port), "--demo-profiles", "30"],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.runners.append(runner)
        wait_for(
            lambda: "Log in as" in log.read_text() or runner.poll() is not None, seconds=STARTUP_S
        )
        assert runner.poll() is None, log.read_text()
        return runner

    def children(self) -> dict[str, int]:
        record = json.loads((self.var_dir / "run_local.pid").read_text())
        return {child["name"]: child["pid"] for child in record["children"]}

    def healthy(self) -> bool:
        return answers(f"http://127.0.0.1:{self.port}/healthz")

    def run_task(self) -> None:
        subprocess.run(
            [*MANAGE, "shell", "-c", SEND_TASK],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self) -> None:
        for runner in self.runners:
            if runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
                try:
                    runner.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    runner.kill()
                    runner.wait()
        pid_file = self.var_dir / "run_local.pid"
        if pid_file.exists():  # whatever a failed assertion left running
            for pid in json.loads(pid_file.read_text())["children"]:
                for member in group_members(pid["pid"]):
                    os.kill(member, signal.SIGKILL)


@pytest.fixture
def local_run(tmp_path: Path) -> Iterator[LocalRun]:
    run = LocalRun(tmp_path, port=free_port(), moto_port=free_port())
    yield run
    run.stop()


def runs_the_product(*, timeout: int) -> Callable[[Callable], Callable]:
    """Marks for a test that runs the whole local product (slow; reads /proc)."""

    def mark(test: Callable) -> Callable:
        test = pytest.mark.slow(test)
        test = pytest.mark.timeout(timeout)(test)
        return pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")(test)

    return mark


def test_restart_delays_double_from_one_second_up_to_thirty():
    assert [restart_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


@runs_the_product(timeout=900)
def test_the_local_product_survives_broker_damage_a_dead_worker_and_a_killed_runner(
    local_run: LocalRun, tmp_path: Path
) -> None:
    log = tmp_path / "first.log"
    runner = local_run.start(log)
    children = local_run.children()
    assert set(children) == {
        "kinesis endpoint (moto)",
        "celery worker",
        "celery beat",
        "web server",
    }
    worker = children["celery worker"]

    # A message file emptied under the worker (kombu #1551's torn write).
    (tmp_path / "broker" / "out" / "000000000000001_torn.celery.msg").write_bytes(b"")
    wait_for(lambda: "Skipped an unreadable broker message" in log.read_text(), seconds=60)
    local_run.run_task()
    wait_for(
        lambda: (
            "Task core.tasks.expired_sessions_clear_task[" in log.read_text()
            and "succeeded" in log.read_text()
        ),
        seconds=120,
    )
    assert alive(worker), "the worker died on the broken message"
    assert "Unrecoverable error" not in log.read_text()

    # Whatever else kills the worker, the supervisor starts a new one; the web stays up.
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: local_run.children().get("celery worker") not in (None, worker), seconds=60)
    assert f"celery worker (pid {worker}) exited" in log.read_text()
    assert local_run.healthy() and runner.poll() is None

    # SIGKILL of the runner: no child survives it...
    children = local_run.children()
    wait_for(lambda: all(alive(pid) for pid in children.values()), seconds=30)
    runner.kill()
    runner.wait()
    wait_for(lambda: not any(group_members(pid) for pid in children.values()), seconds=90)
    assert not local_run.healthy()

    # ...so a new start finds its ports free and comes up.
    second_log = tmp_path / "second.log"
    local_run.start(second_log)
    assert local_run.healthy()
    assert "Address already in use" not in second_log.read_text()


@runs_the_product(timeout=600)
def test_a_start_stops_what_an_earlier_runner_left_behind(
    local_run: LocalRun, tmp_path: Path
) -> None:
    # An orphan recorded by a runner that died without taking it along (no
    # parent-death signal: another platform, or a child that ignores SIGTERM).
    orphan = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(15, signal.SIG_IGN); time.sleep(600)",
        ],
        start_new_session=True,
    )
    start = Path(f"/proc/{orphan.pid}/stat").read_text().rpartition(")")[2].split()[19]
    record = {
        "runner": {"pid": 2**22 + 1, "start": "1"},
        "children": [{"name": "web server", "pid": orphan.pid, "start": start}],
    }
    (tmp_path / "run_local.pid").write_text(json.dumps(record))
    log = tmp_path / "run.log"
    try:
        local_run.start(log)
        assert orphan.poll() is not None
        assert f"stopping web server (pid {orphan.pid})" in log.read_text()
    finally:
        orphan.kill()
        orphan.wait()


def test_a_process_is_recognised_by_its_start_time_with_or_without_proc():
    from core.management.commands import run_local

    me = os.getpid()
    assert run_local._started(me) is not None
    assert run_local._started_by_ps(me) is not None  # the path of systems without /proc
    recorded = run_local._identity(me)
    assert run_local._is_running(recorded)
    assert not run_local._is_running({**recorded, "start": "another process"})
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = int(finished.stdout)
    assert run_local._started(gone) is None and run_local._started_by_ps(gone) is None
