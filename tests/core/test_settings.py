import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
KEY = "bG9jYWwtb25seS1maWVsZC1rZXktMzItYnl0ZXMhIT0="


def production_env(**overrides: str) -> dict[str, str]:
    """The process environment with production settings and no test-only flags."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", **overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_celery_defaults_suit_long_exports():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit > conf.task_soft_time_limit
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_visibility_timeout_outlives_the_hard_time_limit():
    visibility = settings.CELERY_VISIBILITY_TIMEOUT
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["visibility_timeout"] == visibility
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == visibility


def test_production_settings_pass_the_deploy_check():
    env = production_env(
        SECRET_KEY="p" * 20 + "-Xq9!vZ2#kL7@wR4$tY1%uI8^oP3&aS6*dF0(gH5)jK",
        FIELD_ENCRYPTION_KEY=KEY,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = production_env()
    env.pop("SECRET_KEY", None)
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_demo_user_is_refused_outside_the_local_setup():
    env = production_env(
        SECRET_KEY="x" * 60,
        FIELD_ENCRYPTION_KEY=KEY,
        DATABASE_URL="sqlite:///:memory:",
        CELERY_BROKER_URL="memory://",
        CACHE_URL="locmemcache://",
    )
    result = manage("ensure_demo_user", env=env)
    assert result.returncode != 0
    assert "only in the local setup" in result.stderr
