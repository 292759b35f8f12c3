import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
KEY = Fernet.generate_key().decode()
STRONG_SECRET_KEY = "p" * 20 + "-Xq9!vZ2#kL7@wR4$tY1%uI8^oP3&aS6*dF0(gH5)jK"


def production_env(**overrides: str) -> dict[str, str]:
    """The process environment with production settings and no test-only flags."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", **overrides)
    return env


def deployable_env(**overrides: str) -> dict[str, str]:
    """Production settings with every required variable set to an acceptable value."""
    return production_env(
        **{
            "SECRET_KEY": STRONG_SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": KEY,
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
            **overrides,
        }
    )


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


def project_tasks() -> dict[str, object]:
    """Every task the project registers (Celery's own `celery.*` tasks excluded)."""
    app.loader.import_default_modules()  # autodiscovery is lazy: import every tasks.py
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_the_project_tasks_are_all_found():
    names = set(project_tasks())
    # The two long ones that used to outlive the visibility timeout are among them.
    assert {"profiles.tasks.segment_evaluate_task", "activation.tasks.deliveries_prune_task"} <= (
        names
    )
    assert len(names) >= 14


@pytest.mark.parametrize("name", sorted(project_tasks()))
def test_every_task_ends_before_its_message_is_redelivered(name):
    """A task still running when the visibility timeout passes would be handed to a
    second worker (Redis redelivers unacknowledged messages): every hard limit stays
    under it, and every soft limit under the hard one."""
    task = app.tasks[name]
    hard = task.time_limit or app.conf.task_time_limit
    soft = task.soft_time_limit or app.conf.task_soft_time_limit
    assert hard and soft, "every task has both limits"
    assert hard < settings.CELERY_VISIBILITY_TIMEOUT
    assert soft < hard


@pytest.mark.parametrize("name", sorted(project_tasks()))
def test_every_task_is_named_app_noun_verb_task(name):
    app_label, module, function = name.split(".")
    assert app_label in {config.split(".")[0] for config in settings.INSTALLED_APPS}
    assert module == "tasks"
    assert re.fullmatch(r"[a-z]+(_[a-z]+)+_task", function), function


def test_production_settings_pass_the_deploy_check():
    env = deployable_env()
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
        SECRET_KEY=STRONG_SECRET_KEY,
        FIELD_ENCRYPTION_KEY=KEY,
        DATABASE_URL="sqlite:///:memory:",
        CELERY_BROKER_URL="memory://",
        CACHE_URL="locmemcache://",
    )
    result = manage("ensure_demo_user", env=env)
    assert result.returncode != 0
    assert "only in the local setup" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("SECRET_KEY", settings.DEVELOPMENT_SECRET_KEY, "development key"),
        ("SECRET_KEY", "", "empty or weak"),
        ("SECRET_KEY", "x" * 60, "empty or weak"),
        ("SECRET_KEY", "django-insecure-" + STRONG_SECRET_KEY, "empty or weak"),
        ("FIELD_ENCRYPTION_KEY", settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY, "development key"),
        (
            "FIELD_ENCRYPTION_KEY",
            f"{KEY},{settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY}",
            "development",
        ),
        ("FIELD_ENCRYPTION_KEY", "", "no key given"),
        ("FIELD_ENCRYPTION_KEY", " , ", "no key given"),
        ("FIELD_ENCRYPTION_KEY", "not-a-fernet-key", "key 1 is not a Fernet key"),
        ("FIELD_ENCRYPTION_KEY", f"{KEY},abc", "key 2 is not a Fernet key"),
    ],
)
def test_production_refuses_to_start_with_published_empty_or_invalid_keys(variable, value, reason):
    env = deployable_env()
    env[variable] = value
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{variable} " in result.stderr and reason in result.stderr
    assert value not in result.stderr or not value.strip(), "the refused key is echoed"


def test_celery_refuses_to_start_with_the_development_key():
    env = deployable_env(SECRET_KEY=settings.DEVELOPMENT_SECRET_KEY)
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr
