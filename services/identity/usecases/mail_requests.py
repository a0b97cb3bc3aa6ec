"""Requests from people who are not signed in and ask the portal to send them a mail (a
password reset link, a new confirmation link): counted and held back per address and per
email, whatever the outcome, so neither the answer nor the throttling tells whether the
address belongs to a user."""

from __future__ import annotations

from datetime import datetime

from contracts.errors import Throttled
from servicekit.db import UnitOfWork
from services.identity.adapters.throttle_store import count_one, counts, throttle_rows
from services.identity.domain.throttle import Limit, longest_wait


def hold_back(uow: UnitOfWork, limits: dict[str, Limit], now: datetime, what: str) -> None:
    """Refuse with 429 (``Retry-After``) while any of ``limits`` is backing off; otherwise
    count this request against every one of them (committed by the caller)."""
    wait = longest_wait(counts(throttle_rows(uow, limits)), limits, now)
    if wait > 0:
        uow.rollback()
        raise Throttled(f"too many {what} from here; try again in {wait} s", {"retry_after": wait})
    for key in limits:
        count_one(uow, key, now)
