"""Ids arriving over RPC are strings; a malformed one is the caller's mistake, not a crash."""

from __future__ import annotations

import uuid
from typing import Any

from contracts.errors import ValidationFailed


def parse_uuid(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed.for_field(field, "must be a UUID") from None
