"""Encryption of secrets at rest (Fernet, with key rotation through MultiFernet).

FIELD_ENCRYPTION_KEY holds one or more comma-separated Fernet keys: the first
encrypts, every key decrypts, so a new key can be put in front and the old
ciphertexts re-encrypted afterwards (`manage.py rotate_encryption_key`).
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """The ciphertext was not made with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


def _current() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    """Encrypt text under the first configured key."""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt text made under any configured key."""
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc


def reencrypt(ciphertext: str) -> str:
    """Re-encrypt a ciphertext under the first (newest) key."""
    try:
        return _current().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc
