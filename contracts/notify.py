"""Contracts of the notify service's mail RPC."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import EmailStr, Field

from contracts.base import WireModel


class SendMailRequest(WireModel):
    template: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")
    to: EmailStr
    to_name: str | None = Field(default=None, max_length=200)
    context: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field(min_length=1, max_length=200)
    tenant_id: uuid.UUID | None = None


class SendMailReply(WireModel):
    message_id: uuid.UUID
    status: str
    duplicate: bool = False
