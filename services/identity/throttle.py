"""Growing back-off after failed sign-ins, kept per key (an account's email or an IP).

Pure domain code: the caller counts failures (and resets them on success) in its store.
The first ``free`` failures cost nothing; each one after that doubles the wait
(1, 2, 4, 8 … seconds) up to :data:`MAX_BACKOFF_SECONDS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

FREE_FAILURES = 5  # per account
FREE_FAILURES_PER_IP = 20  # an office behind one address signs in more often
MAX_BACKOFF_SECONDS = 900


def backoff_seconds(failures: int, free: int = FREE_FAILURES) -> int:
    """How long after the last of ``failures`` failures the next attempt must wait."""
    beyond = failures - free
    if beyond <= 0:
        return 0
    # 2 ** 10 already exceeds the cap: no need to build huge integers.
    return min(2 ** min(beyond - 1, 10), MAX_BACKOFF_SECONDS)


@dataclass
class Throttle:
    failures: int
    last_failure_at: datetime | None

    def retry_after(self, now: datetime, free: int = FREE_FAILURES) -> int:
        """Whole seconds left before another attempt is allowed; 0 when it is allowed now.

        ``free``: the failures that cost nothing (:data:`FREE_FAILURES_PER_IP` for an IP key).
        """
        last = self.last_failure_at
        if last is None:
            return 0
        if last.tzinfo is None:  # SQLite hands timezone-aware columns back naive; they hold UTC
            last = last.replace(tzinfo=UTC)
        wait = backoff_seconds(self.failures, free)
        left = wait - (now - last).total_seconds()
        return max(0, math.ceil(left))
