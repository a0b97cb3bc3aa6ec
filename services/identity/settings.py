"""Identity settings (prefix ``IDENTITY_``), plus the portal's public URL for mail links."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
