"""Encryption at rest for secrets identity must be able to read back (TOTP seeds).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; the key comes from
``IDENTITY_SECRET_KEY`` or, for a local install, a key file made once under var/.
"""

from __future__ import annotations

from cryptography.fernet import Fernet

from servicekit.keyfile import read_or_create_key
from servicekit.settings import KitSettings
from services.identity.settings import IdentitySettings


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()


def load_secret_box(settings: IdentitySettings | None = None, kit: KitSettings | None = None) -> SecretBox:
    settings = settings or IdentitySettings()
    if settings.secret_key is not None:
        return SecretBox(settings.secret_key.get_secret_value().encode())
    key_file = (kit or KitSettings()).var_dir / "identity-secret.key"
    return SecretBox(read_or_create_key(key_file))
