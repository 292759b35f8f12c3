"""What every benchmark needs: Django set up, and a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import sys
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
