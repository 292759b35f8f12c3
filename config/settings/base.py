"""Settings shared by every environment; values come from the environment.

Defaults suit a laptop: SQLite under var/, a filesystem Celery broker under
var/ (no server needed) and a local Kinesis endpoint. Production overrides
live in ``config.settings.production``.
"""

from pathlib import Path

import environ

from core.observability.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Published with the repository, so only for a laptop and the tests: production
# settings refuse them at start-up (config/startup_checks.py).
DEVELOPMENT_SECRET_KEY = "insecure-local-only-key-change-me-0123456789abcdef"
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "bG9jYWwtb25seS1maWVsZC1rZXktMzItYnl0ZXMhIT0="
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
# A Fernet key (urlsafe base64 of 32 bytes). Several keys, comma separated:
# the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=DEVELOPMENT_FIELD_ENCRYPTION_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Kinesis client tuning (botocore standard retries, timeouts, pool size).
KINESIS_CONNECT_TIMEOUT = env.float("KINESIS_CONNECT_TIMEOUT", default=5.0)
KINESIS_READ_TIMEOUT = env.float("KINESIS_READ_TIMEOUT", default=20.0)
KINESIS_MAX_ATTEMPTS = env.int("KINESIS_MAX_ATTEMPTS", default=3)
# 0 means "4 x worker concurrency, at least 10".
KINESIS_MAX_POOL_CONNECTIONS = env.int("KINESIS_MAX_POOL_CONNECTIONS", default=0)

# Settable only through the environment: a marketer can never point the
# product at another endpoint from the UI.
# Each AWS service has its own endpoint, unset meaning AWS's own: a Kinesis-only
# endpoint (a VPC endpoint for Kinesis, another Kinesis implementation) must never
# receive STS or IAM calls. botocore's own AWS_ENDPOINT_URL* variables are ignored.
KINESIS_ENDPOINT_URL = env.str("KINESIS_ENDPOINT_URL", default="") or None
STS_ENDPOINT_URL = env.str("STS_ENDPOINT_URL", default="") or None
IAM_ENDPOINT_URL = env.str("IAM_ENDPOINT_URL", default="") or None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    # Only so the API docs (/api/v1/docs) serve ninja's bundled Swagger UI, not a CDN.
    "ninja",
    "core",
    "profiles",
    "destinations",
    "activation",
    "alerts",
    "audit",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the cookie or Accept-Language (README "Languages")...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ...then a signed-in user's saved choice wins over both (core/i18n.py).
    "core.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # NUL or lone surrogates in a query string or form: 400 naming it (core/input_policy.py).
    "core.input_policy.RefuseUnstorableTextMiddleware",
    # Tells an editor when someone took over or discarded their edit of a dataflow.
    "activation.wizard.notices.EditHandoverNoticeMiddleware",
    # Viewers (read-only) get 403 on every write; see core/roles.py.
    "core.roles.RoleRequiredMiddleware",
    # Who is acting, for the audit log (audit/context.py).
    "audit.context.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# The wizard's mapping posts two fields per attribute row (500 rows at most, see
# activation.services.MAX_ATTRIBUTES) plus the identities: Django's default of 1,000
# fields would refuse a mapping at the limit with a bare 400.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5_000

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
                "core.roles.can_edit",
            ],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, worker and beat share one file: wait for the write lock
    # instead of failing, and let readers proceed beside a writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def without_jit(database: dict) -> dict:
    """PostgreSQL without JIT compilation (unless DATABASE_URL sets `options`).

    The app's queries are short, but the planner prices some (an export run's
    read of its audience's changes: a nested loop over members) above
    `jit_above_cost`, and compiling them took 0.3-0.5 s each time, 100 times the
    query itself (measured with EXPLAIN ANALYZE, issue 18).
    """
    if database["ENGINE"] != "django.db.backends.sqlite3":
        database.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    return database


without_jit(DATABASES["default"])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Login rate limits and debounce state live here: use Redis in production so
# every process shares them (e.g. CACHE_URL=redis://127.0.0.1:6379/2).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# How many reverse proxies in front of the web server append to
# X-Forwarded-For; the login limits key on the address the outermost one saw.
# 0: the header is never trusted (a client could write anything in it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog"
LOGOUT_REDIRECT_URL = "login"

# Languages (README "Languages"): a signed-in user's saved choice, else the
# language cookie, else the browser's Accept-Language, else English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Numbers shown to people are grouped the locale's way (1,234.5 / 1 234,5);
# identifiers put into URLs or attributes use |unlocalize.
USE_THOUSAND_SEPARATOR = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)

# DEBUG pages and error e-mails hide every secret-looking POST field and
# variable by name, whether or not the view declared it (core/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.error_reports.SecretHidingReporterFilter"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kinesis-destination@localhost")
# Absolute links in alert emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Celery -----------------------------------------------------------------
# Exports are long and must survive a worker crash: acknowledge after the task
# ran (acks_late), take one message at a time (prefetch 1), and make the
# broker's visibility timeout longer than the hard time limit, so a task still
# running is never handed to a second worker.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 5 * 60
)


def filesystem_broker_options(folder: Path) -> dict:
    """kombu's filesystem transport, all under one folder (no broker server needed)."""
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport with atomic writes and readers that survive
    # a damaged message (core/broker.py; kombu issue #1551).
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
# Celery's Django fixup closes the database connection before and after every task
# unless this is set: each export run would open a new connection (a PostgreSQL
# backend forked, authenticated and set up, 20 times a second under load). With it a
# worker keeps its connection, closed by the fixup every this many tasks, and before
# each task Django's CONN_MAX_AGE and health check apply as for a web request
# (core.worker_connections).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Export engine (activation/export/; README "Export engine") ---------------
# Where records go: a factory `f(connection) -> Sink`. The in-process
# "activation.export.sinks.memory_sink" accepts everything (benchmarks).
EXPORT_SINK = env.str("EXPORT_SINK", default="activation.export.sinks.kinesis_sink")
EXPORT_RUN_BUDGET_S = env.float("EXPORT_RUN_BUDGET_S", default=20.0)
EXPORT_LOCK_LEASE_S = env.float("EXPORT_LOCK_LEASE_S", default=90.0)
EXPORT_MIN_RUN_INTERVAL_S = env.float("EXPORT_MIN_RUN_INTERVAL_S", default=1.0)
EXPORT_RETRY_BASE_S = env.float("EXPORT_RETRY_BASE_S", default=0.1)
EXPORT_RETRY_CAP_S = env.float("EXPORT_RETRY_CAP_S", default=5.0)
EXPORT_STUCK_AFTER_S = env.float("EXPORT_STUCK_AFTER_S", default=30.0)
# Sends of a record the stream refuses with a per-record code that is not worth
# retrying (not throttling, not an internal failure) before it is excluded.
EXPORT_RECORD_REFUSAL_ATTEMPTS = env.int("EXPORT_RECORD_REFUSAL_ATTEMPTS", default=3)
EXPORT_FAILED_RUN_RETRY_CAP_S = env.float("EXPORT_FAILED_RUN_RETRY_CAP_S", default=60.0)
DELIVERY_LOG_RETENTION_DAYS = env.int("DELIVERY_LOG_RETENTION_DAYS", default=30)
# The change log (profiles.ProfileChange) keeps what some dataflow has not read
# yet, plus this many seconds of history (README "Retention").
CHANGE_LOG_SAFETY_WINDOW_S = env.int("CHANGE_LOG_SAFETY_WINDOW_S", default=600)
# A disabled dataflow holds the change log for at most this long; after that it
# re-exports its members' current state when enabled again.
CHANGE_LOG_RETENTION_DAYS = env.float("CHANGE_LOG_RETENTION_DAYS", default=7)
# Hourly runs, finished backfills and resolved alerts older than this are deleted.
HISTORY_RETENTION_DAYS = env.int("HISTORY_RETENTION_DAYS", default=90)
# Audit-log entries older than this are deleted (0 keeps them forever).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# --- Observability (core/observability/; README "Operations") -------------------
# Logs: LOG_FORMAT "json" (one object per line; production's default) or "text"
# (make run, tests); every line carries the request/user/dataflow/run/task context.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
# (Celery workers and beat log through it too: core/observability/worker.py.)

# First, so the request id, the timing and the access-log line cover everything.
MIDDLEWARE = ["core.observability.middleware.RequestObservabilityMiddleware", *MIDDLEWARE]
# /metrics: a bearer token, or client addresses/networks allowed to scrape. With
# neither set, only METRICS_OPEN serves them (on here; production turns it off).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_OPEN = env.bool("METRICS_OPEN", default=True)
# Distinct dataflow ids a process puts in metric labels; the rest count as "other".
METRICS_DATAFLOW_LABEL_LIMIT = env.int("METRICS_DATAFLOW_LABEL_LIMIT", default=500)
# /readyz: each dependency (database, broker, cache) must answer within this.
READINESS_TIMEOUT_S = env.float("READINESS_TIMEOUT_S", default=2.0)
