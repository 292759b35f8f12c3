"""`manage.py check --deploy`: metrics that nobody may read (info), or cannot be written."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, register


@register(deploy=True)
def metrics_access(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.METRICS_OPEN or settings.METRICS_TOKEN or settings.METRICS_ALLOWED_IPS:
        return []
    # Info, not a warning: metrics that nobody reads are safe, only not useful.
    return [
        Info(
            "/metrics answers 403 to everyone.",
            hint="Set METRICS_TOKEN (a bearer token) or METRICS_ALLOWED_IPS for the scraper.",
            id="observability.I001",
        )
    ]


@register(deploy=True)
def metrics_directory(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or (os.path.isdir(folder) and os.access(folder, os.W_OK)):
        return []
    return [
        Error(
            f"PROMETHEUS_MULTIPROC_DIR={folder} is not a writable directory.",
            hint="Create it (empty) before starting gunicorn and the workers.",
            id="observability.E001",
        )
    ]
