"""What a Microsoft or Google sign-in (OpenID Connect) decides, as pure rules: how long a
started sign-in stays usable, which ID-token claims are acceptable, which user a provider's
answer stands for, and what each refusal tells the person and the audit trail.

The protocol itself (discovery, the token exchange, the signature and the iss/aud/exp/nonce
checks) is in adapters/oidc_provider.py; the use cases in usecases/single_sign_on.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.errors import PortalError, SsoRefused
from services.identity.domain.permissions import CredentialType

# A sign-in started at the portal must come back from the provider within this time.
ATTEMPT_VALID_FOR = timedelta(minutes=10)
# After the provider, a user with two-factor sign-in has this long to enter the code.
SECOND_FACTOR_VALID_FOR = timedelta(minutes=5)
PROVIDERS = (CredentialType.MICROSOFT, CredentialType.GOOGLE)
PROVIDER_NAMES: dict[str, str] = {CredentialType.MICROSOFT: "Microsoft", CredentialType.GOOGLE: "Google"}


class SsoRefusal(StrEnum):
    """Why a Microsoft or Google sign-in was refused (the ``reason`` of ``sign_in_failed``)."""

    PROVIDER_ERROR = "provider_error"
    STATE_UNKNOWN = "state_unknown"
    STATE_USED = "state_used"
    STATE_EXPIRED = "state_expired"
    OTHER_BROWSER = "other_browser"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105  (a reason, not a secret)
    NONCE_MISMATCH = "nonce_mismatch"
    BAD_SIGNATURE = "bad_signature"
    INVALID_ID_TOKEN = "invalid_id_token"  # noqa: S105
    EMAIL_NOT_VERIFIED = "email_not_verified"
    UNKNOWN_USER = "unknown_user"
    OTHER_CREDENTIAL_TYPE = "other_credential_type"
    SECOND_FACTOR_EXPIRED = "second_factor_expired"


# What the person is told. Deliberately plain: which check failed, and what to do.
_MESSAGES: dict[SsoRefusal, str] = {
    SsoRefusal.PROVIDER_ERROR: "{name} did not complete the sign-in. Try again, or ask your administrator.",
    SsoRefusal.STATE_UNKNOWN: "This sign-in link is not one this portal started. Start again from the sign-in page.",
    SsoRefusal.STATE_USED: "This sign-in link was already used. Start again from the sign-in page.",
    SsoRefusal.STATE_EXPIRED: "This sign-in took too long and expired. Start again from the sign-in page.",
    SsoRefusal.OTHER_BROWSER: "This sign-in was started in another browser. Start again from the sign-in page here.",
    SsoRefusal.WRONG_ISSUER: "The answer did not come from {name}. The sign-in was refused.",
    SsoRefusal.WRONG_AUDIENCE: "{name} issued this sign-in for another application. The sign-in was refused.",
    SsoRefusal.TOKEN_EXPIRED: "{name}'s sign-in answer has expired. Start again from the sign-in page.",
    SsoRefusal.NONCE_MISMATCH: "{name}'s answer does not belong to this sign-in. The sign-in was refused.",
    SsoRefusal.BAD_SIGNATURE: "{name}'s answer is not validly signed. The sign-in was refused.",
    SsoRefusal.INVALID_ID_TOKEN: "{name}'s answer could not be read. The sign-in was refused.",
    SsoRefusal.EMAIL_NOT_VERIFIED: "{name} has not verified your email address, so the portal cannot match it "
                                   "to a user. Verify it with {name} first.",
    SsoRefusal.UNKNOWN_USER: "No user of this portal signs in with {name} as this account. "
                             "Ask your administrator to invite you.",
    SsoRefusal.OTHER_CREDENTIAL_TYPE: "No user of this portal signs in with {name} as this account. "
                                      "Ask your administrator to invite you.",
    SsoRefusal.SECOND_FACTOR_EXPIRED: "The time to enter your authentication code ran out. "
                                      "Start again from the sign-in page.",
}


def refusal_message(refusal: SsoRefusal, provider: str) -> str:
    return _MESSAGES[refusal].format(name=PROVIDER_NAMES.get(provider, "the identity provider"))


def refused(refusal: SsoRefusal, provider: str) -> PortalError:
    """The error the caller of a refused sign-in gets: the reason travels in the details."""
    return SsoRefused(refusal_message(refusal, provider), {"reason": refusal.value, "provider": provider})


def attempt_refusal(*, found: bool, used: bool, created_at: datetime | None, browser_matches: bool,
                    now: datetime) -> SsoRefusal | None:
    """Why a sign-in coming back from the provider cannot continue: a ``state`` the portal
    never issued, one already used (a replay), one older than :data:`ATTEMPT_VALID_FOR`, or
    one started in another browser (login CSRF)."""
    if not found or created_at is None:
        return SsoRefusal.STATE_UNKNOWN
    if used:
        return SsoRefusal.STATE_USED
    if now > created_at + ATTEMPT_VALID_FOR:
        return SsoRefusal.STATE_EXPIRED
    if not browser_matches:
        return SsoRefusal.OTHER_BROWSER
    return None


def second_factor_usable(ticket_expires_at: datetime | None, now: datetime) -> bool:
    return ticket_expires_at is not None and now <= ticket_expires_at


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in: its stable subject, and the email it vouches for."""

    subject: str
    email: str | None
    email_verified: bool


def provider_identity(claims: Mapping[str, Any]) -> ProviderIdentity:
    """The subject and email of validated ID-token claims. ``email_verified`` counts only as
    the JSON value ``true``: a string "true", a missing claim or ``false`` is unverified."""
    email = claims.get("email")
    return ProviderIdentity(
        subject=str(claims.get("sub") or ""),
        email=email.strip() if isinstance(email, str) and email.strip() else None,
        email_verified=claims.get("email_verified") is True,
    )


@dataclass(frozen=True)
class KnownUser:
    """What the matching rule needs to know of a portal user: how it signs in, and the
    subject of this provider it is linked to (None before its first sign-in)."""

    credential_type: str
    linked_subject: str | None


def match_refusal(provider: str, identity: ProviderIdentity, by_subject: KnownUser | None,
                  by_email: KnownUser | None) -> SsoRefusal | None:
    """Whether the provider's answer stands for a portal user, or why not.

    A user already linked to this provider's subject is matched on it alone (the email at the
    provider may change). Otherwise the first sign-in matches the user by a verified email,
    and only a user whose credential type is this provider and who is not yet linked to
    another subject: no self-sign-up, and no taking over a password user's account.
    """
    if by_subject is not None:
        # Linked earlier; an administrator may since have made it a user of another kind.
        return None if by_subject.credential_type == provider else SsoRefusal.OTHER_CREDENTIAL_TYPE
    if identity.email is None or not identity.email_verified:
        return SsoRefusal.EMAIL_NOT_VERIFIED
    if by_email is None:
        return SsoRefusal.UNKNOWN_USER
    if by_email.credential_type != provider or by_email.linked_subject is not None:
        return SsoRefusal.OTHER_CREDENTIAL_TYPE
    return None
