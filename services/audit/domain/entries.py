"""What an audit entry says: its fields (the chain hashes exactly these), an event mapper's
draft of it, and a tenant node of the tree projection. Pure: no nameko, no SQLAlchemy."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from contracts.audit import Activity, AuditStatus

Payload = Mapping[str, Any]

# Column sizes (services/audit/adapters/models.py): values are cut to fit before they are hashed.
LIMITS = {
    "description": 1000, "account_name": 200, "performed_by": 320, "ip": 64, "user_agent": 512,
    "correlation_id": 100, "source": 50, "event_type": 100,
}


@dataclass(frozen=True)
class AuditFields:
    """Everything an entry says; the chain hashes exactly these (plus seq and prev_hash)."""

    event_id: uuid.UUID
    tenant_id: uuid.UUID
    occurred_at: datetime
    activity: Activity
    status: AuditStatus
    description: str
    source: str
    event_type: str
    account_id: uuid.UUID | None = None
    account_name: str | None = None
    performed_by: str | None = None
    actor_user_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None

    def fitted(self) -> AuditFields:
        """The same entry with every text cut to its column's size."""
        cut: dict[str, Any] = {name: value[:size] for name, size in LIMITS.items()
               if isinstance(value := getattr(self, name), str) and len(value) > size}
        return replace(self, **cut) if cut else self


@dataclass(frozen=True)
class Draft:
    """What an event's own mapper decides; the envelope supplies the rest."""

    description: str
    status: AuditStatus = AuditStatus.COMPLETED
    account_id: uuid.UUID | None = None
    account_name: str | None = None
    performed_by: str | None = None  # when the actor is anonymous (sign-in) or not the performer


@dataclass(frozen=True)
class TenantNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: str
    name: str | None
