"""Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps) and
recovery codes. Pure domain code: no nameko, no database.

Replay protection works on time steps: :func:`matching_step` answers the step a code
belongs to, and the caller stores it as the user's ``last_used_step`` with a conditional
UPDATE (``... WHERE last_used_step IS NULL OR last_used_step < :step``), so of two
concurrent submissions of one code only one wins.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp

from services.identity.domain.tokens import hash_token

DIGITS = 6
STEP_SECONDS = 30
SECRET_LENGTH = 32  # base32 characters: 32 x 5 = 160 bits, the RFC 4226 recommendation
DEFAULT_ISSUER = "Backup Portal"

# Recovery codes: Crockford's base32 alphabet (no i, l, o, u). 32 symbols = 5 bits each,
# so "xxxx-xxxx-xxxx" carries 60 bits. Whatever a user misreads (o for 0, i or l for 1)
# is folded back by normalise_recovery_code.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LENGTH = 4
RECOVERY_CODE_COUNT = 10
_MISREAD = str.maketrans({"o": "0", "i": "1", "l": "1"})


def new_secret() -> str:
    """A new base32 TOTP seed of 160 random bits."""
    return pyotp.random_base32(length=SECRET_LENGTH)


def provisioning_uri(secret: str, account: str, issuer: str = DEFAULT_ISSUER) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads (usually as a QR code)."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def time_step(at: datetime) -> int:
    """The RFC 6238 counter of ``at`` (which must carry a time zone)."""
    if at.tzinfo is None:
        raise ValueError("a TOTP time must be timezone-aware")
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime, digits: int = DIGITS) -> str:
    """The code valid at ``at``."""
    return _totp(secret, digits).generate_otp(time_step(at))


def matching_step(secret: str, code: str, at: datetime, last_used_step: int | None, window: int = 1) -> int | None:
    """The time step ``code`` belongs to, within ``window`` steps either side of ``at``.

    ``None`` when the code matches no step, is malformed (not six ASCII digits after
    dropping spaces), or belongs to a step at or before ``last_used_step``: each code is
    accepted once only. Every candidate step is compared, in constant time.
    """
    if window < 0:
        raise ValueError("window must not be negative")
    now = time_step(at)
    candidate = code.replace(" ", "")
    if len(candidate) != DIGITS or not (candidate.isascii() and candidate.isdigit()):
        return None
    totp = _totp(secret)
    matched: int | None = None
    for step in range(max(now - window, 0), now + window + 1):
        fresh = last_used_step is None or step > last_used_step
        if hmac.compare_digest(totp.generate_otp(step), candidate) and fresh:
            matched = step
    return matched


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` single-use codes like ``k7m2-9qxp-4trz`` (60 random bits each)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return [_recovery_code() for _ in range(count)]


def normalise_recovery_code(code: str) -> str:
    """Lower case, without spaces or dashes, misread letters folded (o → 0, i/l → 1)."""
    return "".join(code.lower().replace("-", "").split()).translate(_MISREAD)


def hash_recovery_code(code: str) -> str:
    """The hex SHA-256 of the normalised code.

    A fast hash is right here (unlike for passwords): a recovery code carries 60 random
    bits, far beyond what guessing against a stolen hash could cover, and a plain digest
    lets the database find the code by its hash.
    """
    return hash_token(normalise_recovery_code(code))


def _recovery_code() -> str:
    groups = (
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH)) for _ in range(RECOVERY_GROUPS)
    )
    return "-".join(groups)


def _totp(secret: str, digits: int = DIGITS) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS)
