"""Secrets production refuses to start with.

Called while the production settings are imported, so every process (web
server, Celery worker and beat, management commands) stops at once with
ImproperlyConfigured naming the variable, instead of running with a key
anyone who read the repository knows.
"""

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import DEVELOPMENT_FIELD_ENCRYPTION_KEY, DEVELOPMENT_SECRET_KEY
from core.crypto import parse_keys

GENERATE_SECRET_KEY = (
    "python -c 'from django.core.management.utils import get_random_secret_key; "
    "print(get_random_secret_key())'"
)


def required_secret_key(value: str) -> str:
    """SECRET_KEY, unless it is empty, the development key, or weak by Django's rule."""
    if value == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is the development key published in the repository; "
            f"set a new random one (e.g. {GENERATE_SECRET_KEY})."
        )
    weak = (
        len(value) < SECRET_KEY_MIN_LENGTH
        or len(set(value)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or value.startswith(SECRET_KEY_INSECURE_PREFIX)
    )
    if weak:
        raise ImproperlyConfigured(
            f"SECRET_KEY is empty or weak: it needs at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} of them different, and no "
            f"'{SECRET_KEY_INSECURE_PREFIX}' prefix (e.g. {GENERATE_SECRET_KEY})."
        )
    return value


def required_field_encryption_key(value: str) -> str:
    """FIELD_ENCRYPTION_KEY, unless a key is missing, invalid or the development key."""
    try:
        parse_keys(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY is invalid: {exc}.") from exc
    keys = [key.strip() for key in value.split(",")]
    if DEVELOPMENT_FIELD_ENCRYPTION_KEY in keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY contains the development key published in the repository, "
            "so secrets encrypted with it are readable by anyone: generate a new Fernet key "
            "and drop this one (to keep stored secrets, first run `manage.py "
            "rotate_encryption_key` with FIELD_ENCRYPTION_KEY=new,old and "
            "DJANGO_SETTINGS_MODULE=config.settings.base)."
        )
    return value
