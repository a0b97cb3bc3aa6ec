"""When to try a failed mail again, and when to give up. Pure domain code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.notify.settings import DEFAULT_RETRY_BACKOFF


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential-ish back-off from a schedule; ``max_attempts`` attempts in all."""

    backoff_seconds: tuple[float, ...] = DEFAULT_RETRY_BACKOFF
    max_attempts: int = 8

    def delay_after(self, attempts: int) -> timedelta | None:
        """The wait after ``attempts`` failed attempts, or None when it is time to give up."""
        if attempts >= self.max_attempts:
            return None
        index = min(max(attempts, 1), len(self.backoff_seconds)) - 1
        return timedelta(seconds=self.backoff_seconds[index])
