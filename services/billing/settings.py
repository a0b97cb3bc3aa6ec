"""Settings of the billing service (environment ``BILLING_*``, embedded defaults)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.settings import KitSettings


class BillingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    # How often the billing clock looks for work (bills of ended periods, due card charges).
    clock_seconds: float = Field(default=3600, gt=0, le=86_400)
    price_book: Path | None = Field(default=None, description="default: services/billing/adapters/price_book.yaml")
    # The payment processor: only the local test-mode one exists so far.
    processor: str = Field(default="local_test", pattern="^local_test$")
    processor_store: Path | None = Field(default=None, description="default: $PORTAL_VAR_DIR/billing-processor.db")

    def processor_path(self) -> Path:
        return self.processor_store or KitSettings().var_dir / "billing-processor.db"
