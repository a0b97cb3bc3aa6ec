"""Payloads of identity's events (routing keys in ``contracts.events.IdentityEvent``).

Each model is one event type's ``payload`` as identity publishes it on ``identity.events``;
docs/events.md is the catalogue and ``contracts.event_payloads`` maps each type to its model.
``sessions_revoked`` is ``contracts.identity.SessionsRevoked`` (the gateway reads it).
No payload carries a password, a token, a one-time code or a TOTP secret.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import WireModel
from contracts.identity import CredentialType, Role

SignInMethod = Literal["password", "microsoft", "google"]


class UserEvent(WireModel):
    """What every event about one user carries."""

    user_id: uuid.UUID
    email: str


class OperatorBootstrapped(UserEvent):
    """The vendor's operator account was created on identity's first start (``PORTAL_OPERATOR_EMAIL``)."""


class UserCreated(UserEvent):
    """A user was added (user management, or ``portal seed``).

    The demo users of ``portal seed`` carry fewer fields: the demo administrator ``user_id``,
    ``email``, ``role`` and ``tenant_id``; the demo custom users no tenant fields."""

    role: Role
    credential_type: CredentialType | None = Field(default=None, description="absent for the demo administrator")
    permissions: list[str] | None = Field(default=None, description="absent for the demo administrator")
    tenant_id: uuid.UUID | None = Field(default=None, description="the tenant the user joined")
    tenant_kind: str | None = Field(default=None, description="operator, distributor, partner or account")
    tenant_name: str | None = Field(default=None, description="the tenant's name; null when nobody said it")


class AdministratorNotInvited(WireModel):
    """A new partner's or customer account's first administrator could not be invited: a user was
    made with that email after tenancy checked it (the envelope's ``tenant_id`` is the new tenant)."""

    tenant_id: uuid.UUID
    tenant_kind: str
    tenant_name: str | None = None
    email: str
    reason: Literal["email_in_use"]


class ConfirmationSent(UserEvent):
    """A confirmation link was issued (a new user, or a resend). Never the link or its token."""

    expires_at: AwareDatetime


class EmailConfirmed(UserEvent):
    """The user confirmed the address."""


class UserUpdated(UserEvent):
    """A user was edited."""

    fields: list[str] = Field(description="the names of the fields the request set (never their values)")


class PermissionsChanged(UserEvent):
    """The user's role, permissions or accessible accounts changed."""

    role: Role
    permissions: list[str]
    accessible_accounts: Literal["all"] | list[uuid.UUID] = Field(
        description='"all", or the ids of the customer accounts the user may open')


class UserDeleted(UserEvent):
    """A user was removed."""


class SignedIn(UserEvent):
    """A successful sign-in."""

    method: SignInMethod
    two_factor: bool = Field(description="whether the user has two-factor sign-in on")


class SignInFailed(WireModel):
    """A refused sign-in; the Microsoft/Google reasons are in docs/http-api.md."""

    email: str | None = Field(description="the address tried (null when a provider's answer named none)")
    user_id: uuid.UUID | None = Field(description="null when no user has the address")
    reason: str = Field(description="why it was refused, e.g. wrong_password, locked, ip_not_trusted")
    method: Literal["microsoft", "google"] | None = Field(
        default=None, description="the provider; absent for a password sign-in")


class SignedOut(WireModel):
    """A session was ended."""

    user_id: uuid.UUID
    email: str | None = Field(description="null when the user was deleted meanwhile")


class PasswordChanged(UserEvent):
    """The user changed the password; the user's other sessions ended."""


class PasswordResetRequested(UserEvent):
    """A confirmed Email user asked for a password reset link (never the token; unknown
    addresses announce nothing)."""

    expires_at: AwareDatetime


class PasswordReset(UserEvent):
    """The password was set with a reset link; every session of the user ended."""


class TwoFactorEnabled(UserEvent):
    """TOTP was switched on."""


class TwoFactorDisabled(UserEvent):
    """TOTP was switched off."""


class RecoveryCodeUsed(UserEvent):
    """A two-factor recovery code was spent."""

    remaining: int = Field(ge=0, description="the user's recovery codes still unused")


class PasswordPolicyChanged(WireModel):
    """The tenant's password expiration policy changed."""

    expiration_enabled: bool
    max_age_days: int = Field(ge=1, le=3650)


class IpRestrictionsChanged(WireModel):
    """An IP restriction entry or the switch changed."""

    change: str = Field(description='what changed, in words: e.g. "Entry added: 203.0.113.7", '
                                     '"IP restrictions turned on"')
    enabled: bool = Field(description="whether restrictions are on after the change")
    entries: int = Field(ge=0, description="how many entries the tenant has after the change")


class EngineKeyIssued(WireModel):
    """``engine_key_created``: an operator issued a backup-engine API key (the key itself never travels)."""

    key_id: uuid.UUID
    name: str
