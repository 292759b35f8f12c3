# Two commands set everything up on a fresh machine:
#   make run   - the product on embedded defaults (SQLite, moto Kinesis, filesystem broker)
#   make test  - ruff and the whole test suite (browser tests included), on the local
#                PostgreSQL and Redis when they answer (as CI runs it), else SQLite
#   make test-fast - the inner loop: no lint, no browser, fault, broker or slow tests
# Packages: requirements.lock is what production runs (install-prod); development and
# tests add requirements-dev.lock. Both are pip-compile locks with hashes (make lock).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
LOCKS := requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) | sha1sum | cut -c1-12)
# Production's own virtualenv: the runtime lock only (make prod-smoke runs the product in it).
PROD_VENV := var/prod-venv
PROD_STAMP := $(PROD_VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint install install-prod lock chromium gettext messages compilemessages bench bench-ingest bench-pages soak clean

$(STAMP): $(LOCKS)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock -r requirements-dev.lock
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# Development and tests: the runtime and the development locks.
install: $(STAMP)

$(PROD_STAMP): requirements.lock
	@test -x $(PROD_VENV)/bin/python || python3 -m venv $(PROD_VENV)
	$(PROD_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements.lock
	@rm -f $(PROD_VENV)/.installed-*
	@touch $(PROD_STAMP)

# Production: the runtime lock only, in $(PROD_VENV) (a deployment runs
# `pip install --require-hashes -r requirements.lock` in its own environment).
install-prod: $(PROD_STAMP)

# Re-lock after editing requirements*.in: pinned versions stay unless upgraded on
# purpose (pip-compile --upgrade-package NAME); the dev lock is constrained by the runtime one.
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(PIP_COMPILE) -o requirements.lock requirements.in
	$(PIP_COMPILE) -o requirements-dev.lock requirements-dev.in

# Browser tests drive Debian's chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Translations (README "Languages"): gettext's msgfmt/xgettext from Debian, like chromium.
gettext:
	@command -v msgfmt >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gettext; }

# Re-extract every marked string into locale/<lang>/LC_MESSAGES/django.po and
# djangojs.po (new msgids arrive empty, to be translated; then compilemessages).
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=benchmarks --ignore=.ci
LOCALES := sv
# File names but no line numbers: two branches adding strings rarely conflict.
MESSAGES_OPTIONS := --no-obsolete --add-location=file
messages: $(STAMP) gettext
	$(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) -d django $(MESSAGES_IGNORE) $(MESSAGES_OPTIONS)
	$(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) -d djangojs $(MESSAGES_IGNORE) $(MESSAGES_OPTIONS)

# The .mo files are built, never committed (.gitignore).
compilemessages: $(STAMP) gettext
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var

run: $(STAMP) compilemessages
	$(PY) manage.py run_local

# ruff, then mypy over the product code (configuration and per-module leniency in
# pyproject.toml: strict everywhere but the error codes listed for a module).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The suite runs on the production path (PostgreSQL, Redis) whenever the local
# servers answer; DATABASE_URL / CELERY_BROKER_URL from the environment win.
# Without PostgreSQL it runs on SQLite and the summary names what was skipped.
LOCAL_PG := postgres://postgres@127.0.0.1:5432/test
LOCAL_REDIS := redis://127.0.0.1:6379/0
TEST_ENV = if [ -z "$${DATABASE_URL:-}" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  export DATABASE_URL=$(LOCAL_PG); fi; \
	if [ -z "$${CELERY_BROKER_URL:-}" ] && redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG; then \
	  export CELERY_BROKER_URL=$(LOCAL_REDIS); fi;

test: $(STAMP) chromium compilemessages lint
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: $(STAMP) compilemessages
	$(TEST_ENV) $(VENV)/bin/pytest -q -m "not browser and not fault and not broker and not slow" $(PYTEST_ARGS)

# Benchmarks print `name: value` lines (under 10 minutes on 2 cores). They need
# PostgreSQL and Redis: DATABASE_URL and CELERY_BROKER_URL, else the local defaults
# below. Each creates its own throwaway database next to DATABASE_URL's. Every target
# takes the same defaults (BENCH_ENV); bench-ingest and bench-pages pass BENCH_ARGS through.
BENCH_ENV = DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/streamline} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
bench: $(STAMP)
	$(BENCH_ENV) $(PY) -m benchmarks.delivery
	$(BENCH_ENV) $(PY) -m benchmarks.export
	$(BENCH_ENV) $(PY) -m benchmarks.fanout

# Sustained load (at most 10 minutes): 500 profile writes/s through the API for
# 5 minutes into 20 dataflows, two workers, beat, a local Kinesis endpoint; then the
# consumer check. SOAK_ARGS="--rate 100 --minutes 1" for a shortened run.
soak: $(STAMP)
	$(BENCH_ENV) $(PY) -m benchmarks.soak $(SOAK_ARGS)

# Ingestion through the API code path (with/without 3 active segments) and batch
# re-evaluation of one segment over 1,000,000 profiles (time, peak RSS). Needs
# PostgreSQL; creates and drops its own <database>_ingest database. BENCH_ARGS="--store 0" skips the 1M part.
bench-ingest: $(STAMP)
	$(BENCH_ENV) $(PY) -m benchmarks.ingest $(BENCH_ARGS)

# Monitoring pages with 10,000 runs and 100,000 delivery-log rows (p95 target < 150 ms).
bench-pages: $(STAMP)
	$(BENCH_ENV) $(PY) -m benchmarks.pages $(BENCH_ARGS)

clean:
	rm -rf var/broker var/test-*.sqlite3

# Production mode end to end (CI runs it after the suite): production settings,
# gunicorn, two Celery workers and beat on PostgreSQL and Redis, a moto server as
# Kinesis; exports through the API, then checks /metrics against the stream and
# /readyz. Needs DATABASE_URL (PostgreSQL server) and CELERY_BROKER_URL (Redis).
# The product runs from $(PROD_VENV) (runtime lock only), the harness from .venv.
.PHONY: prod-smoke
prod-smoke: $(STAMP) $(PROD_STAMP)
	$(BENCH_ENV) PROD_PYTHON=$(CURDIR)/$(PROD_VENV)/bin/python $(PY) .ci/prod_smoke.py
