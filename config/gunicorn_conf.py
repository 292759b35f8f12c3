"""Gunicorn settings for production: `gunicorn config.wsgi -c config/gunicorn_conf.py`.

Graceful by default: on SIGTERM the master stops accepting connections and
gives the requests in flight `GUNICORN_GRACEFUL_TIMEOUT` seconds to finish.
Access lines are written by the application (core.observability.middleware:
one line per request with its request id, route, status and duration), not by
gunicorn.
"""

import os

from core.observability.logging import logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
accesslog = None
# The master's own lines (start, signals, worker exits) in the application's format.
logconfig_dict = logging_config(
    fmt=os.environ.get("LOG_FORMAT", "json"), level=os.environ.get("LOG_LEVEL", "INFO")
)
