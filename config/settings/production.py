"""Production settings: PostgreSQL, Redis, HTTPS. Everything secret is required."""

from config.settings.base import *  # noqa: F403
from config.settings.base import LOG_LEVEL, env, without_jit
from config.startup_checks import required_field_encryption_key, required_secret_key
from core.observability.logging import logging_config

DEBUG = False
DEMO_USER_ALLOWED = False
# Refused at start-up (ImproperlyConfigured naming the variable) when missing,
# weak, invalid or one of the development keys the repository publishes.
SECRET_KEY = required_secret_key(env.str("SECRET_KEY"))
FIELD_ENCRYPTION_KEY = required_field_encryption_key(env.str("FIELD_ENCRYPTION_KEY"))
DATABASES = {"default": without_jit(env.db("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
# Shared by every web and worker process (login rate limits, export debounce).
CACHES = {"default": env.cache("CACHE_URL")}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# --- Observability (README "Operations") --------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
# Metrics only for the token or the allowed addresses (refused when neither is set).
METRICS_OPEN = False
# Load balancers, orchestrators and scrapers speak plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
