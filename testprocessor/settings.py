"""Settings of the test processor (environment ``PROCESSOR_*``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ProcessorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCESSOR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8790, ge=1, le=65535)
    store: Path | None = Field(default=None, description="default: $PORTAL_VAR_DIR/billing-processor.db")
    # The consoles that may frame the card form and receive its tokens (scheme://host:port).
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ("http://localhost:8000", "http://127.0.0.1:8000")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    def store_path(self) -> Path:
        return self.store or Path(os.environ.get("PORTAL_VAR_DIR", "var")) / "billing-processor.db"
