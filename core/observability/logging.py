"""Structured logs: context carried through every line, one JSON object per line in production.

The context (request id, user, dataflow id, run id, task id) lives in one
contextvar; the middleware binds the request's, the Celery signal receivers
the task's, and the export engine the dataflow and run it works on. A filter
copies it onto every record, so any logger in the project gets it for free.

Formatters: `JsonFormatter` (production: `LOG_FORMAT=json`) and
`TextFormatter` (`make run`, tests): the same fields, the context appended as
`key=value` pairs.

What is never logged at INFO: secrets (credentials stay inside
destinations/kinesis and are never formatted into messages; botocore, which
logs request bodies at DEBUG, is held at WARNING) and profile attribute values
(the export engine logs counts and ids, never record data).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# The fields of the log context, in the order the text format shows them.
CONTEXT_FIELDS = ("request_id", "user", "dataflow_id", "run_id", "task_id", "task")

_context: ContextVar[dict[str, Any]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated


def current_context() -> dict[str, Any]:
    return _context.get()


def bind(**fields: Any) -> None:
    """Add fields to the current context (until the context is cleared or reset)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def clear() -> None:
    _context.set({})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """These fields on every log line inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the log context onto each record (attached to the handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, context, exception.

    Django's request logging attaches the request object: its repr is the full
    path with the query string, which can carry identities, so it is left out.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)


class TextFormatter(logging.Formatter):
    """Human-readable: `time LEVEL logger message [request_id=... dataflow_id=...]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name)
        )
        if not context:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the context
        return f"{first} [{context}]{newline}{rest}"


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: one console handler, the chosen format, the context filter."""
    formatter = {
        "json": {"()": "core.observability.logging.JsonFormatter"},
        "text": {"()": "core.observability.logging.TextFormatter"},
    }
    if fmt not in formatter:
        raise ValueError(f"LOG_FORMAT must be json or text, not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "core.observability.logging.ContextFilter"}},
        "formatters": {fmt: formatter[fmt]},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["context"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # botocore logs request bodies at DEBUG, which can carry secrets.
            "botocore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            # Gunicorn's own lines (start, worker boot and exit) in the same format.
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
