"""Readiness: can this process serve? The database, the broker and the cache, each
with a short timeout, checked side by side.

Liveness (`/healthz`) stays one cheap query; readiness (`/readyz`) is what a load
balancer or Kubernetes uses to stop sending traffic to an instance whose
dependencies are gone, and it names what failed.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connections

# Credentials inside URLs an error message may quote (scheme://user:password@host).
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


@dataclass
class CheckResult:
    ok: bool
    ms: float
    error: str = ""

    def as_json(self) -> dict[str, object]:
        answer: dict[str, object] = {"ok": self.ok, "ms": round(self.ms, 1)}
        if self.error:
            answer["error"] = self.error
        return answer


def check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This thread's own connection: never left open for the next probe.
        connection.close()


def check_broker() -> None:
    from config.celery import app

    timeout = settings.READINESS_TIMEOUT_S
    # The URL from settings (not the app's copy), so what is checked is what is configured.
    with app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=timeout) as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=timeout
        )


def check_cache() -> None:
    nonce = uuid.uuid4().hex
    cache.set("readyz:probe", nonce, timeout=30)
    if cache.get("readyz:probe") != nonce:
        raise RuntimeError("the cache did not return the value just written")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
}


def readiness(timeout_s: float | None = None) -> dict[str, CheckResult]:
    """Run every check in its own thread; a check still running after `timeout_s` fails."""
    timeout_s = settings.READINESS_TIMEOUT_S if timeout_s is None else timeout_s
    results: dict[str, CheckResult] = {}
    threads = [
        threading.Thread(
            target=_run, args=(name, check, results), daemon=True, name=f"readyz-{name}"
        )
        for name, check in CHECKS.items()
    ]
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {
        name: results.get(name)
        or CheckResult(ok=False, ms=timeout_s * 1000, error=f"no answer within {timeout_s:g} s")
        for name in CHECKS
    }


def _run(name: str, check: Callable[[], None], results: dict[str, CheckResult]) -> None:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:
        message = _URL_CREDENTIALS.sub(r"\1***@", f"{type(exc).__name__}: {exc}")[:300]
        results[name] = CheckResult(ok=False, ms=_ms_since(started), error=message)
    else:
        results[name] = CheckResult(ok=True, ms=_ms_since(started))


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
