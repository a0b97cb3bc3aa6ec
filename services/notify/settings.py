"""The notify service's settings (environment, prefix ``NOTIFY_``).

With ``NOTIFY_SMTP_HOST`` set, mail goes out through that SMTP server; without it, it is
written to a local Maildir at ``<PORTAL_VAR_DIR>/mail`` (read it with any mail client or
``mailbox.Maildir``).
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MAIL_FROM = "Backup Portal <no-reply@portal.localhost>"
# Waits after the 1st, 2nd, ... failed attempt; the last one repeats until max_attempts.
DEFAULT_RETRY_BACKOFF = (5.0, 30.0, 120.0, 600.0, 3600.0)


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535,
                                  description="default 465 with ssl, 587 with starttls, else 25")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = Field(default=10.0, gt=0, le=300)
    mail_from: str = DEFAULT_MAIL_FROM

    max_attempts: int = Field(default=8, ge=1, le=100)
    # "5,30,120" or JSON "[5, 30, 120]", in seconds.
    retry_backoff_seconds: Annotated[tuple[float, ...], NoDecode] = DEFAULT_RETRY_BACKOFF
    delivery_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    delivery_batch_size: int = Field(default=20, ge=1, le=1000)

    @field_validator("smtp_host", "smtp_username", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # Compose files and shells often set NAME= to mean "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("retry_backoff_seconds", mode="before")
    @classmethod
    def _split_backoff(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.strip().strip("[]").replace(" ", "").split(",") if part]
        return value

    @field_validator("retry_backoff_seconds")
    @classmethod
    def _check_backoff(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(seconds <= 0 for seconds in value):
            raise ValueError("give one or more positive numbers of seconds")
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError("must be an address like 'Backup Portal <no-reply@example.com>'")
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
