"""Contracts of the identity service: sign-in, sessions, users, security settings.

Passwords travel as plain ``str``: pydantic's SecretStr serialises to "**********" on the
wire. Request bodies are never logged (servicekit.logging redacts secret-named keys).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from contracts.base import SafeText, WireModel

Role = Literal["administrator", "custom"]
CredentialType = Literal["password", "microsoft", "google"]
# The orders of Settings > Users (``-`` descending); ties fall back to the email.
UserSort = Literal["email", "-email", "name", "-name", "role", "-role"]
DisplayName = Annotated[SafeText, Field(max_length=200)]
IpDescription = Annotated[SafeText, Field(max_length=200)]
IpAddresses = Annotated[SafeText, Field(max_length=5000)]
IpBound = Annotated[SafeText, Field(max_length=64)]


class SignInRequest(WireModel):
    email: SafeText = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(default=None, max_length=12)
    recovery_code: str | None = Field(default=None, max_length=40)


class UserView(WireModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_kind: str
    email: str
    display_name: str | None = None
    credential_type: CredentialType
    role: Role
    permissions: list[str]
    accessible_accounts: Literal["all"] | list[uuid.UUID]
    email_confirmed: bool
    two_factor_enabled: bool
    created_at: AwareDatetime


class SignInReply(WireModel):
    token: str
    expires_at: AwareDatetime
    user: UserView
    password_expired: bool


class Principal(WireModel):
    """What a valid session token stands for; the gateway's view of the caller."""

    session_id: uuid.UUID
    user: UserView
    password_expired: bool


RevocationReason = Literal[
    "signed_out", "password_changed", "password_reset", "user_deleted", "permissions_changed", "user_updated"
]


class SessionsRevoked(WireModel):
    """Payload of ``sessions_revoked``: a gateway must check these sessions again before
    trusting them (it drops them from its session cache). Never carries a token.

    ``session_ids`` None: every session of the user (some may still be valid, e.g. the one
    that changed the password; they are simply checked again).
    """

    user_id: uuid.UUID
    session_ids: list[uuid.UUID] | None = None
    reason: RevocationReason


class CreateUserRequest(WireModel):
    email: SafeText = Field(min_length=3, max_length=320)
    display_name: DisplayName | None = None
    credential_type: CredentialType = "password"
    password: str | None = Field(default=None, max_length=1024)
    role: Role = "custom"
    permissions: list[str] = Field(default_factory=list, max_length=50)
    accessible_accounts: Literal["all"] | list[uuid.UUID] = "all"
    tenant_id: uuid.UUID | None = Field(
        default=None,
        description="the tenant the user joins: the caller's own (the default), or a partner or customer account "
        "within the caller's scope",
    )
    tenant_kind: SafeText | None = Field(default=None, description="set by tenancy-driven creation (partner admin)")


class UpdateUserRequest(WireModel):
    display_name: DisplayName | None = None
    role: Role | None = None
    permissions: list[str] | None = Field(default=None, max_length=50)
    accessible_accounts: Literal["all"] | list[uuid.UUID] | None = None
    credential_type: CredentialType | None = None


class ConfirmEmailRequest(WireModel):
    token: str = Field(min_length=16, max_length=200)
    password: str | None = Field(default=None, max_length=1024)


EmailLinkState = Literal["usable", "used", "expired", "unknown"]


class EmailLinkView(WireModel):
    """What a confirmation link stands for, read without using it (the console's page).

    ``email`` only for a link that is still usable: whoever holds it got it by mail.
    """

    state: EmailLinkState
    email: str | None = None
    needs_password: bool = False


class ResendConfirmationRequest(WireModel):
    """A new confirmation link, asked for by the person who holds an old one (``token``) or
    who knows the address (``email``). Answered the same whatever the outcome."""

    token: str | None = Field(default=None, min_length=16, max_length=200)
    email: SafeText | None = Field(default=None, min_length=3, max_length=320)


class PasswordResetRequest(WireModel):
    email: SafeText = Field(min_length=3, max_length=320)


class PasswordResetConfirmRequest(WireModel):
    token: str = Field(min_length=16, max_length=200)
    new_password: str = Field(min_length=1, max_length=1024)


class ChangePasswordRequest(WireModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)
    confirm_password: str = Field(max_length=1024)


class TwoFactorSetupReply(WireModel):
    secret: str
    otpauth_uri: str


class TwoFactorEnableReply(WireModel):
    recovery_codes: list[str]


class PasswordPolicyView(WireModel):
    expiration_enabled: bool = False
    max_age_days: int = Field(default=90, ge=1, le=3650)


class IpEntryRequest(WireModel):
    description: IpDescription = Field(default="", description="optional: what the addresses are")
    addresses: IpAddresses | None = None
    range_from: IpBound | None = None
    range_to: IpBound | None = None


class IpEntryView(WireModel):
    id: uuid.UUID
    description: str
    addresses: str | None = None
    range_from: str | None = None
    range_to: str | None = None


class IpRestrictionsView(WireModel):
    enabled: bool
    your_ip: str | None
    entries: list[IpEntryView]
    note: str | None = Field(default=None, description="after the first entry: whether that turned restrictions "
                                                       "on (it trusts your address) or left them off, and why")


class UserPage(WireModel):
    items: list[UserView]
    page: int
    page_size: int
    total: int




class EngineKeyRequest(WireModel):
    name: SafeText = Field(min_length=1, max_length=200, description="which engine or region uses the key")


class EngineKeyCreated(WireModel):
    id: uuid.UUID
    name: str
    key: str = Field(description="shown once; only its hash is kept")
    created_at: AwareDatetime


class EngineIdentity(WireModel):
    key_id: uuid.UUID
    name: str


# ---- Microsoft and Google sign-in (OpenID Connect; docs/decisions/0014) ------------------------

SsoProvider = Literal["microsoft", "google"]


class SsoProviders(WireModel):
    providers: list[SsoProvider] = Field(description="the identity providers configured for this portal")


class SsoStartRequest(WireModel):
    next: SafeText = Field(default="/", max_length=2000, description="the portal path to open once signed in")


class SsoStarted(WireModel):
    authorization_url: str = Field(description="where to send the browser: the provider's sign-in page")
    browser_key: str = Field(description="kept by the browser that started the sign-in (an HttpOnly cookie) and "
                                         "sent back with the callback: a callback from another browser is refused")


class SsoCallbackRequest(WireModel):
    """What the provider sent back to the redirect URI, plus the starting browser's key."""

    # Opaque values of URL characters only: SafeText refuses control characters in them.
    state: SafeText = Field(min_length=1, max_length=200)
    code: SafeText | None = Field(default=None, max_length=4000)
    error: SafeText | None = Field(default=None, max_length=200, description="the provider's error code, if any")
    browser_key: SafeText | None = Field(default=None, max_length=200)


class SsoSecondFactorRequest(WireModel):
    ticket: SafeText = Field(min_length=16, max_length=200, description="from the callback's `second_factor_ticket`")
    totp_code: str | None = Field(default=None, max_length=12)
    recovery_code: str | None = Field(default=None, max_length=40)


class SsoSignInReply(WireModel):
    """Signed in (``session``), or the user has two-factor sign-in on and must still send a
    code with ``second_factor_ticket`` (single use, valid 5 minutes)."""

    next: str
    session: SignInReply | None = None
    second_factor_ticket: str | None = None
