"""Identity settings (prefix ``IDENTITY_``), plus the portal's public URL for mail links."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class ProviderSettings:
    """One OpenID Connect provider the portal signs users in with (docs/decisions/0014)."""

    name: str
    issuer: str
    client_id: str
    client_secret: SecretStr


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    # Encrypts TOTP secrets at rest. Unset: a key file under PORTAL_VAR_DIR is made once.
    secret_key: SecretStr | None = None
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    confirmation_hours: int = Field(default=24, ge=1, le=24 * 7)
    # How long a password reset link works.
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # Links in mail are built from this, never from a request's Host header.
    public_base_url: str = Field(default="http://localhost:8000", validation_alias="PORTAL_PUBLIC_BASE_URL")
    totp_issuer: str = "Backup Portal"
    # How long a worker waits for notify to queue a mail (normally ~50 ms); then the mail is
    # given up (logged) and the worker moves on: a stopped notify must not hold identity's
    # workers, nor make a request that sends mail outlast the gateway's deadline (10 s).
    notify_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # How long creating a user waits for tenancy to say which tenant the user joins (and that
    # the caller may name it); then the user is not created (503).
    tenancy_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    # Microsoft and Google sign-in (OpenID Connect). A provider is offered only when all three
    # of its settings are set; README.md "Sign in with Microsoft or Google" says where they come from.
    microsoft_issuer: str | None = None
    microsoft_client_id: str | None = None
    microsoft_client_secret: SecretStr | None = None
    google_issuer: str | None = None
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    # Each request to a provider (discovery, keys, the token exchange) gives up after this.
    sso_http_timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    def sso_provider(self, name: str) -> ProviderSettings | None:
        """The provider called ``name`` ("microsoft" or "google") when it is configured."""
        issuer = getattr(self, f"{name}_issuer", None)
        client_id = getattr(self, f"{name}_client_id", None)
        secret = getattr(self, f"{name}_client_secret", None)
        if not issuer or not client_id or secret is None or not secret.get_secret_value():
            return None
        return ProviderSettings(name, issuer.rstrip("/"), client_id, secret)

    def sso_redirect_uri(self, name: str) -> str:
        """Where the provider sends the browser back: the console's callback page."""
        return f"{self.public_base_url.rstrip('/')}/sign-in/{name}/callback"
