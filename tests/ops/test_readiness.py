"""/healthz stays one cheap query; /readyz checks the database, broker and cache in time."""

import time

import pytest

from core.observability import health

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_PORT = "127.0.0.1:9"  # discard: nothing listens there


def test_healthz_is_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get("/healthz").json() == {"status": "ok"}


def test_ready_when_every_dependency_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "cache": True,
    }


def test_a_broker_down_is_named_in_a_503(client, settings):
    settings.CELERY_BROKER_URL = f"redis://{CLOSED_PORT}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]
    assert "refused" in body["checks"]["broker"]["error"].lower()


def test_a_cache_down_is_named_in_a_503(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:s3cret-password@{CLOSED_PORT}/0",
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert "s3cret-password" not in response.content.decode()


def test_a_hanging_dependency_fails_after_the_timeout(client, settings, monkeypatch):
    settings.READINESS_TIMEOUT_S = 0.5
    monkeypatch.setitem(health.CHECKS, "database", lambda: time.sleep(5))
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "ms": 500.0,
        "error": "no answer within 0.5 s",
    }


def test_credentials_in_an_error_message_are_masked():
    def leaky() -> None:
        raise RuntimeError("cannot reach redis://user:hunter2@cache.internal:6379/1")

    health.CHECKS["leaky"] = leaky
    try:
        result = health.readiness(1.0)["leaky"]
    finally:
        del health.CHECKS["leaky"]
    assert not result.ok
    assert "hunter2" not in result.error and "redis://***@cache.internal" in result.error
