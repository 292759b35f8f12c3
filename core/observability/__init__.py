"""What the people who run Streamline watch: metrics, structured logs, readiness, shutdown.

* `logging.py`: the log context (request, user, dataflow, run, task ids) and formatters.
* `metrics.py`: the Prometheus metrics processes record (HTTP, ingestion, export, tasks).
* `collectors.py`: figures read at scrape time from the database and the broker.
* `health.py`: the readiness checks (database, broker, cache).
* `middleware.py`: request id, user and HTTP metrics for every request.
* `views.py`: `/metrics` and `/readyz`.
* `worker.py`: Celery signal receivers (task context, durations, graceful shutdown).

README "Operations" explains the figures, alerts and settings.
"""
