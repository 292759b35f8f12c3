"""What every benchmark needs: Django set up, and a throwaway PostgreSQL database."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    """Test settings; tasks the benchmark enqueues go to an in-memory broker, never a real one."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def bench_database(suffix: str) -> Iterator[None]:
    """A fresh, migrated `<DATABASE_URL's name>_<suffix>` database, dropped afterwards."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks need PostgreSQL: set DATABASE_URL=postgres://...")
    name = settings.DATABASES["default"]["NAME"]
    settings.DATABASES["default"]["TEST"]["NAME"] = f"{name}_{suffix}"
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0)


def peak_rss_mb() -> float:
    """This process's peak resident memory (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(module: str, *args: str) -> dict:
    """Run `python -m module args` on the database in use now and return the JSON
    it prints last: a fresh process, so its peak RSS is the measured work's own."""
    from tests.conftest import database_url_of_current_test_db

    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_current_test_db(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    child = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


@contextmanager
def background_process(
    command: list[str], env: dict[str, str], *, ready: str = "", timeout: float = 60
) -> Iterator[subprocess.Popen]:
    """A process in its own session (a Celery worker, beat), output to a temporary log;
    with `ready`, waits until the log says it. Stopped (its whole group) on exit."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout
            while ready and ready not in Path(log.name).read_text():
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(
                        f"{command[2:5]} did not start:\n{Path(log.name).read_text()}"
                    )
                time.sleep(0.2)
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
