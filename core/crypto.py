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


def parse_keys(keys: str) -> list[Fernet]:
    """The Fernet keys of a FIELD_ENCRYPTION_KEY value, first one first.

    Raises ValueError naming the key's position when one is not a Fernet key
    (urlsafe base64 of 32 bytes), or when there is none.
    """
    texts = [key.strip() for key in keys.split(",") if key.strip()]
    if not texts:
        raise ValueError("no key given (expected one or more Fernet keys, comma separated)")
    fernets = []
    for position, text in enumerate(texts, start=1):
        try:
            fernets.append(Fernet(text.encode()))
        except ValueError as exc:
            raise ValueError(
                f"key {position} is not a Fernet key (urlsafe base64 of 32 bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc
    return fernets


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet(parse_keys(keys))


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
