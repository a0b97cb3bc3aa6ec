"""notify's key: seals webhook secrets at rest and signs report links.

One Fernet key (``NOTIFY_SECRET_KEY``; a local install makes a key file under
``PORTAL_VAR_DIR`` once). Link signatures use a key *derived* from it, so a leaked link
signature says nothing about the sealing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken

from servicekit.keyfile import read_or_create_key
from servicekit.settings import KitSettings
from services.notify.settings import NotifySettings

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
WEBHOOK_SECRET_BYTES = 32
KEY_FILE = "notify-secret.key"


class SealError(Exception):
    """A sealed value does not open with this key (the key changed, or the data is damaged)."""


@dataclass(frozen=True)
class NotifyKeys:
    fernet_key: bytes

    def seal(self, plaintext: str) -> str:
        return Fernet(self.fernet_key).encrypt(plaintext.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return Fernet(self.fernet_key).decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("the sealed value does not open with this key") from None

    @property
    def link_key(self) -> bytes:
        return hmac.new(self.fernet_key, b"notify report links v1", hashlib.sha256).digest()

    def sign_link(self, file_id: uuid.UUID, expires: int) -> str:
        message = f"{file_id}.{expires}".encode()
        return base64.urlsafe_b64encode(hmac.new(self.link_key, message, hashlib.sha256).digest()).decode().rstrip("=")

    def link_signature_valid(self, file_id: uuid.UUID, expires: int, signature: str) -> bool:
        # Constant time: how much of a guess matched must not show in the answer's timing.
        return hmac.compare_digest(self.sign_link(file_id, expires).encode(), signature.encode())


def new_webhook_secret() -> str:
    """``whsec_`` and 32 random bytes in base64 (the Standard Webhooks form)."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode()


def link_expiry(moment: datetime) -> int:
    return int(moment.timestamp())


def load_keys(settings: NotifySettings | None = None, kit: KitSettings | None = None) -> NotifyKeys:
    settings = settings or NotifySettings()
    if settings.secret_key is not None:
        return NotifyKeys(settings.secret_key.get_secret_value().encode())
    return NotifyKeys(read_or_create_key((kit or KitSettings()).var_dir / KEY_FILE))
