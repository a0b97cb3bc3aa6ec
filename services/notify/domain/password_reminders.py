"""When a password expiry reminder is due. Pure domain code."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta


def reminder_threshold(expires_at: datetime, now: datetime, thresholds: Sequence[int]) -> int | None:
    """The reminder due for a password expiring at ``expires_at``: the smallest threshold (in
    days) the time left has reached, or None (too early, or already expired)."""
    if expires_at <= now:
        return None
    left = days_left(expires_at, now)
    reached = [t for t in thresholds if left <= t]
    return min(reached) if reached else None


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days left until ``expires_at``, a started day counting as one."""
    return math.ceil((expires_at - now) / timedelta(days=1))
