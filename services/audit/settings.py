"""Audit settings (prefix ``AUDIT_``). The database itself is ``AUDIT_DATABASE_URL`` (servicekit)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    # Entries older than this many days are purged (the purge itself is recorded).
    retention_days: int = Field(default=365, ge=1, le=36_500)
    # How often each instance looks for entries to purge.
    purge_interval_seconds: float = Field(default=24 * 3600, gt=0, le=7 * 24 * 3600)
    # Migrations as the schema owner when AUDIT_DATABASE_URL is the restricted role (docs/audit.md).
    migration_database_url: str | None = None
