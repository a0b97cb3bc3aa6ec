"""The one envelope every event travels in (docs/events.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, Field

from contracts.base import WireModel

ENVELOPE_VERSION = 1


class Actor(WireModel):
    """Who caused an event, and from where. Never carries a secret."""

    user_id: uuid.UUID | None = None
    email: str | None = None
    ip: str | None = None
    user_agent: str | None = None


SYSTEM_ACTOR = Actor()


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventEnvelope(WireModel):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=50, description="publishing service")
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    tenant_id: uuid.UUID | None = None
    actor: Actor = SYSTEM_ACTOR
    correlation_id: str | None = None
    version: int = ENVELOPE_VERSION
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def routing_key(self) -> str:
        return self.type

    @property
    def exchange(self) -> str:
        return events_exchange(self.source)


def events_exchange(service: str) -> str:
    """nameko's convention: each service publishes on the topic exchange ``<service>.events``."""
    return f"{service}.events"
