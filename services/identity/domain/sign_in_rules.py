"""What a sign-in and a session decide: why an attempt is refused and whether the refusal
counts toward throttling, which second factor is offered, how long a session lives, and
what a new password must differ from. Pure domain code: the use cases read the rows, count
the failures (domain/throttle.py) and write the sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from contracts.errors import (
    AccessDenied,
    EmailNotConfirmed,
    InvalidCredentials,
    PortalError,
    TwoFactorRequired,
    ValidationFailed,
)
from services.identity.domain.permissions import CredentialType

USER_AGENT_KEPT = 300  # characters of the browser's user agent kept with a session
LAST_SEEN_WRITE_EVERY = timedelta(seconds=60)


class Refusal(StrEnum):
    """Why a sign-in was refused (the ``reason`` of ``sign_in_failed``)."""

    BAD_CREDENTIALS = "bad_credentials"
    EMAIL_NOT_CONFIRMED = "email_not_confirmed"
    IP_NOT_TRUSTED = "ip_not_trusted"
    BAD_TOTP_CODE = "bad_totp_code"
    BAD_RECOVERY_CODE = "bad_recovery_code"


# A wrong secret is a guess: it counts toward the sign-in's throttling keys. The owner's
# unconfirmed email or untrusted address is not.
GUESSES = frozenset({Refusal.BAD_CREDENTIALS, Refusal.BAD_TOTP_CODE, Refusal.BAD_RECOVERY_CODE})


def counts_as_guess(refusal: Refusal) -> bool:
    return refusal in GUESSES


def password_refusal(
    *, found: bool, password_ok: bool, credential_type: str | None, email_confirmed: bool
) -> Refusal | None:
    """Why a sign-in with an email and a password is refused before any second factor.

    An unknown email, a wrong password and a user who signs in another way are all the same
    "bad credentials" (an attempt learns nothing about which emails exist).
    """
    if not found or not password_ok or credential_type != CredentialType.PASSWORD:
        return Refusal.BAD_CREDENTIALS
    if not email_confirmed:
        return Refusal.EMAIL_NOT_CONFIRMED
    return None


def refused(refusal: Refusal, ip: str | None = None) -> PortalError:
    """The error the caller of a refused sign-in gets."""
    match refusal:
        case Refusal.BAD_CREDENTIALS:
            return InvalidCredentials("email or password is wrong")
        case Refusal.EMAIL_NOT_CONFIRMED:
            return EmailNotConfirmed("confirm your email address first (see the confirmation mail)")
        case Refusal.IP_NOT_TRUSTED:
            return AccessDenied(
                "Access Denied: your address is not trusted by this account's IP restrictions", {"your_ip": ip}
            )
        case Refusal.BAD_TOTP_CODE:
            return InvalidCredentials("the authentication code is wrong or was already used")
        case Refusal.BAD_RECOVERY_CODE:
            return InvalidCredentials("the recovery code is wrong or was already used")


class SecondFactor(StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


def second_factor(totp_code: str | None, recovery_code: str | None) -> SecondFactor:
    """Which second factor a user with two-factor sign-in offered: the authenticator's code
    when given, else a recovery code; neither is refused with ``TwoFactorRequired``."""
    if totp_code:
        return SecondFactor.TOTP
    if recovery_code:
        return SecondFactor.RECOVERY_CODE
    raise TwoFactorRequired("enter the code from your authenticator app (or a recovery code)")


def session_expires_at(now: datetime, absolute_hours: int) -> datetime:
    return now + timedelta(hours=absolute_hours)


def kept_user_agent(user_agent: str | None) -> str | None:
    return (user_agent or "")[:USER_AGENT_KEPT] or None


def session_expired(now: datetime, expires_at: datetime, last_seen_at: datetime, idle_minutes: int) -> bool:
    """A session ends at its absolute expiry, or after ``idle_minutes`` without a request."""
    return now > expires_at or now > last_seen_at + timedelta(minutes=idle_minutes)


def last_seen_due(now: datetime, last_seen_at: datetime) -> bool:
    """Whether a session's ``last_seen_at`` is old enough to be written again (not on every
    request: the idle limit is in minutes)."""
    return now - last_seen_at > LAST_SEEN_WRITE_EVERY


def check_new_password(current: str, new: str, confirmation: str) -> None:
    """What a password change asks beyond the password rules: the new password typed twice
    alike, and different from the current one."""
    if new != confirmation:
        raise ValidationFailed.for_field("confirm_password", "does not match the new password")
    if new == current:
        raise ValidationFailed.for_field("new_password", "must differ from the current password")
