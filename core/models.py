"""Core models: API tokens for the REST API."""

import hashlib
import secrets

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "sl_"


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens are random (256 bits), so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token of one user for /api/v1/; only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    # The first characters, shown in admin so a user can tell tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, *, user: object, name: str = "") -> tuple["ApiToken", str]:
        """Create a token; returns the row and the plain token (shown once, never stored)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=plain[:10], token_hash=hash_token(plain)
        )
        return token, plain


class UserPreference(models.Model):
    """What a user chose for themselves; today only the interface language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    # A code of settings.LANGUAGES (no model choices, so adding a language needs
    # no migration); blank: no choice made, the browser's Accept-Language decides.
    language = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.language or '-'}"
