"""Tenancy settings (prefix ``TENANCY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TenancySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANCY_", extra="ignore")

    # How often the trial clock looks for trials that have ended (every instance runs it).
    trial_clock_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # Trials moved per committed batch; instances take disjoint batches (FOR UPDATE SKIP LOCKED).
    trial_batch_size: int = Field(default=200, ge=1, le=10_000)
    # How long adding a partner or customer account waits for identity to say whether a user
    # already has its email (its first administrator is invited there); then nothing is made (503).
    identity_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
