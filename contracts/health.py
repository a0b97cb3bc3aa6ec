from __future__ import annotations

from pydantic import Field

from contracts.base import WireModel


class HealthReply(WireModel):
    service: str
    status: str = Field(pattern="^(ok|degraded)$")
    database: str = Field(description="database dialect that answered")
    schema_revision: str | None = None
    outbox_backlog: int = 0
