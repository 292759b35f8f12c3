"""Multiprocess mode: figures counted in other processes (Celery workers) reach the scrape."""

import os
import subprocess
import sys

from tests.conftest import ROOT

WORKER = """
import django
django.setup()
from core.observability.metrics import export_outcome_observed
export_outcome_observed(5, delivered=7, excluded=["RecordTooLarge"], failed=[])
"""

SCRAPER = """
import django
django.setup()
from prometheus_client import generate_latest
from core.observability.views import scrape_registry
print(generate_latest(scrape_registry()).decode())
"""


def run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_counts_of_two_worker_processes_are_summed_by_the_scrape(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        # No database here: the state figures fail alone and say so.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
    }
    run(WORKER, env)
    run(WORKER, env)
    text = run(SCRAPER, env)
    assert 'streamline_export_records_delivered_total{dataflow="5"} 14.0' in text
    assert (
        'streamline_export_records_excluded_total{dataflow="5",reason="RecordTooLarge"} 2.0' in text
    )
    assert 'streamline_state_source_up{source="database"} 0.0' in text
