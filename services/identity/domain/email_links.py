"""Links sent by mail (confirmation, password reset): what state a link is in. Pure code."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.identity import EmailLinkState


def link_state(used_at: datetime | None, expires_at: datetime | None, now: datetime,
               found: bool = True) -> EmailLinkState:
    """A link works once, until ``expires_at`` inclusive; one not found is ``unknown``."""
    if not found or expires_at is None:
        return "unknown"
    if used_at is not None:
        return "used"
    if expires_at.tzinfo is None:  # SQLite hands timezone-aware columns back naive; they hold UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    return "usable" if now <= expires_at else "expired"
