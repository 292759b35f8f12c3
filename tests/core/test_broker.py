"""The embedded broker (core/broker.py): whole messages or none, and a damaged
message is set aside instead of killing the worker (kombu issue #1551)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any
from unittest import mock

import pytest
from kombu import Connection

from config.settings.base import filesystem_broker_options
from tests.conftest import ROOT


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[Any]:
    options = filesystem_broker_options(tmp_path / "broker")
    with Connection(
        "filesystem://", transport="core.broker:Transport", transport_options=options
    ) as conn:
        yield conn.default_channel


def out_folder(tmp_path: Path) -> Path:
    return tmp_path / "broker" / "out"


def test_messages_go_through_in_order(channel: Any) -> None:
    for number in range(3):
        channel._put("celery", {"n": number})
    assert [channel._get("celery")["n"] for _ in range(3)] == [0, 1, 2]


def test_a_message_is_invisible_until_it_is_whole(channel: Any, tmp_path: Path) -> None:
    seen_while_writing = []
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        seen_while_writing.append(channel._size("celery"))
        with pytest.raises(Empty):
            channel._get("celery")
        real_replace(source, target)

    with mock.patch("core.broker.os.replace", side_effect=replace):
        channel._put("celery", {"whole": True})
    assert seen_while_writing == [0]
    assert channel._get("celery") == {"whole": True}
    assert not [p for p in out_folder(tmp_path).iterdir()]


def test_a_damaged_message_is_set_aside_and_the_next_one_delivered(
    channel: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Torn writes of the old transport, or a file emptied by hand.
    (out_folder(tmp_path) / "000000000000001_torn.celery.msg").write_bytes(b"")
    (out_folder(tmp_path) / "000000000000002_half.celery.msg").write_bytes(b'{"body": "x')
    channel._put("celery", {"good": 1})
    assert channel._get("celery") == {"good": 1}
    broken = sorted(p.name for p in (tmp_path / "broker" / "broken").iterdir())
    assert broken == ["000000000000001_torn.celery.msg", "000000000000002_half.celery.msg"]
    assert caplog.text.count("Skipped an unreadable broker message") == 2


def test_celery_uses_it_for_the_embedded_default_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path))
    code = (
        "import django; django.setup(); from config.celery import app; "
        "print(type(app.connection_for_write().transport).__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == "core.broker", result.stderr
