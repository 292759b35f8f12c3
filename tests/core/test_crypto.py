import pytest
from cryptography.fernet import Fernet

from core import crypto


def test_it_round_trips_and_never_stores_plaintext():
    ciphertext = crypto.encrypt("wJalrXUtnFEMI/K7MDENG")
    assert "wJalrXUtnFEMI" not in ciphertext
    assert crypto.decrypt(ciphertext) == "wJalrXUtnFEMI/K7MDENG"


def test_it_decrypts_old_ciphertexts_after_a_new_key_is_put_in_front(settings):
    old = crypto.encrypt("secret")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{settings.FIELD_ENCRYPTION_KEY}"
    assert crypto.decrypt(old) == "secret"
    rotated = crypto.reencrypt(old)
    settings.FIELD_ENCRYPTION_KEY = new_key
    assert crypto.decrypt(rotated) == "secret"


def test_it_raises_its_own_error_for_a_foreign_ciphertext(settings):
    foreign = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(foreign)
