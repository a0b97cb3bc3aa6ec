"""The notify service's settings (environment, prefix ``NOTIFY_``).

With ``NOTIFY_SMTP_HOST`` set, mail goes out through that SMTP server; without it, it is
written to a local Maildir at ``<PORTAL_VAR_DIR>/mail`` (read it with any mail client or
``mailbox.Maildir``).
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MAIL_FROM = "Backup Portal <no-reply@portal.localhost>"
# Waits after the 1st, 2nd, ... failed attempt; the last one repeats until max_attempts.
DEFAULT_RETRY_BACKOFF = (5.0, 30.0, 120.0, 600.0, 3600.0)
# Webhooks: the first attempt at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (7 attempts, ~17.6 h).
DEFAULT_WEBHOOK_BACKOFF = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535,
                                  description="default 465 with ssl, 587 with starttls, else 25")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    # A PEM file of CA certificates trusted for the SMTP server's certificate, in addition
    # to the system's (a private CA). The certificate and its host name are always verified.
    smtp_ca_file: Path | None = None
    smtp_timeout: float = Field(default=10.0, gt=0, le=300)
    mail_from: str = DEFAULT_MAIL_FROM

    max_attempts: int = Field(default=8, ge=1, le=100)
    # "5,30,120" or JSON "[5, 30, 120]", in seconds.
    retry_backoff_seconds: Annotated[tuple[float, ...], NoDecode] = DEFAULT_RETRY_BACKOFF
    delivery_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    delivery_batch_size: int = Field(default=20, ge=1, le=1000)

    # Links in mail are built from this, never from a request's Host header.
    public_base_url: str = Field(default="http://localhost:8000", validation_alias="PORTAL_PUBLIC_BASE_URL")
    # Seals webhook secrets at rest and (derived) signs report links. Unset: a key file
    # under PORTAL_VAR_DIR is made once (a local install); set it in production.
    secret_key: SecretStr | None = None
    report_link_days: int = Field(default=7, ge=1, le=90)
    # Deadline of every RPC call notify makes (tenancy, identity, billing), in seconds.
    rpc_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # How often the scheduler looks for reports whose period is over (nameko timer).
    schedule_seconds: float = Field(default=300.0, gt=0, le=86_400)
    password_reminder_days: Annotated[tuple[int, ...], NoDecode] = (7, 1)

    webhook_backoff_seconds: Annotated[tuple[float, ...], NoDecode] = DEFAULT_WEBHOOK_BACKOFF
    webhook_max_attempts: int = Field(default=7, ge=1, le=100)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Failing this long without one success (and a message out of attempts): disabled.
    webhook_disable_after_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Development only: endpoints on loopback addresses (and plain http to them) are allowed.
    webhooks_allow_loopback: bool = False

    @field_validator("smtp_host", "smtp_username", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # Compose files and shells often set NAME= to mean "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("retry_backoff_seconds", "webhook_backoff_seconds", "password_reminder_days", mode="before")
    @classmethod
    def _split_backoff(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.strip().strip("[]").replace(" ", "").split(",") if part]
        return value

    @field_validator("retry_backoff_seconds", "webhook_backoff_seconds", "password_reminder_days")
    @classmethod
    def _check_backoff(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(seconds <= 0 for seconds in value):
            raise ValueError("give one or more positive numbers (seconds, or days for reminders)")
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError("must be an address like 'Backup Portal <no-reply@example.com>'")
        return value

    @field_validator("smtp_ca_file")
    @classmethod
    def _check_ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _one_tls_mode(self) -> NotifySettings:
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("NOTIFY_SMTP_SSL and NOTIFY_SMTP_STARTTLS exclude each other")
        return self

    @property
    def uses_smtp(self) -> bool:
        return self.smtp_host is not None

    @property
    def effective_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        if self.smtp_ssl:
            return 465
        return 587 if self.smtp_starttls else 25
