"""Shared fixtures: ready users, a real Celery worker process, a real browser."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

import tests.support.aws_calls  # noqa: F401 - the AWS call hook, on every client created after
from tests.factories import UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# the tests make beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogs() -> None:
    """The Swedish pages need the .mo files, which are built, not committed: `make
    test` compiles them first; this covers a bare `pytest` (skips up-to-date ones)."""
    from django.core.management import call_command

    call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: cached reads (the wizard's schema
    picker, login limits) must never leak from one test's data into another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory(password=PASSWORD)


@pytest.fixture
def logged_in_client(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def database_url_of_current_test_db() -> str:
    """A DATABASE_URL naming the test database this process is using now."""
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db: Any, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process on the configured broker and the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_of_current_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VAR_DIR": str(settings.VAR_DIR),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: "ready" in (tmp_path / "worker.log").read_text(), seconds=60)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


def wait_for(check: Callable[[], bool], *, seconds: float = 30, every: float = 0.2) -> None:
    """Poll until check() is true, failing the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"condition not met within {seconds} s")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def logged_in_page(page: Any, live_server: Any, user: Any) -> Any:
    """A browser page logged in through the real login form."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/catalog/")
    return page


def pytest_unconfigure(config: Any) -> None:
    """One loud line, the very last of the run (after pytest's own summary), when the
    production path's tests were skipped (no PostgreSQL)."""
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if terminalreporter is None:
        return
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return  # the production path ran: nothing of it was skipped for want of PostgreSQL
    skipped = terminalreporter.stats.get("skipped", [])
    # Every PostgreSQL-only skip says "needs PostgreSQL" (tests/profiles/conftest.py).
    postgres_only = [r for r in skipped if "needs PostgreSQL" in str(r.longrepr)]
    if postgres_only:
        terminalreporter.write_line(
            f"!!! {len(postgres_only)} tests of the PostgreSQL path were SKIPPED (rule compiler, "
            "change capture): start PostgreSQL on 127.0.0.1:5432 and run `make test`, or set "
            "DATABASE_URL=postgres://... !!!",
            red=True,
            bold=True,
        )
