"""Sign-in throttling: growing back-off after failed sign-ins (docs/http-api.md, "Sign-in
throttling"; ADR 0011).

Pure domain code: the caller counts failures in its store, one count per key. A failure
counts against three keys, each with its own :class:`Limit`:

- the account at the address (``email-ip:``): an address guessing at one account is held
  there, without holding the account's owner anywhere else;
- the address (``ip:``): an address guessing at many accounts;
- the account from every address together (``email:``): a ceiling on guessing from many
  addresses, whose wait is capped low so that it slows guessing without locking the owner
  out, and which does not hold an address the account has signed in from before.

The first ``free`` failures of a key cost nothing; each one after that doubles the wait
(1, 2, 4, 8 … seconds) up to the limit's ``max_wait``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_BACKOFF_SECONDS = 900


@dataclass(frozen=True)
class Limit:
    free: int
    max_wait: int = MAX_BACKOFF_SECONDS

    def wait_after(self, failures: int) -> int:
        """How long after the last of ``failures`` failures the next attempt must wait."""
        return backoff_seconds(failures, self.free, self.max_wait)


PER_ACCOUNT_AT_ADDRESS = Limit(free=5)
PER_ADDRESS = Limit(free=20)  # an office behind one address signs in more often
PER_ACCOUNT = Limit(free=10, max_wait=60)
# An address the account has signed in from within this time is "known" to the account.
KNOWN_ADDRESS_FOR = timedelta(days=90)
# A count whose last failure is older than this starts again: old mistakes fade.
THROTTLE_WINDOW = timedelta(hours=1)

FREE_FAILURES = PER_ACCOUNT_AT_ADDRESS.free
FREE_FAILURES_PER_IP = PER_ADDRESS.free


def backoff_seconds(failures: int, free: int = FREE_FAILURES, max_wait: int = MAX_BACKOFF_SECONDS) -> int:
    """How long after the last of ``failures`` failures the next attempt must wait."""
    beyond = failures - free
    if beyond <= 0:
        return 0
    # 2 ** 10 already exceeds the longest cap: no need to build huge integers.
    return min(2 ** min(beyond - 1, 10), max_wait)


@dataclass
class Throttle:
    failures: int
    last_failure_at: datetime | None

    def retry_after(self, now: datetime, free: int = FREE_FAILURES, max_wait: int = MAX_BACKOFF_SECONDS) -> int:
        """Whole seconds left before another attempt is allowed; 0 when it is allowed now.

        ``free`` and ``max_wait``: the key's :class:`Limit`.
        """
        last = self.last_failure_at
        if last is None:
            return 0
        if last.tzinfo is None:  # SQLite hands timezone-aware columns back naive; they hold UTC
            last = last.replace(tzinfo=UTC)
        wait = backoff_seconds(self.failures, free, max_wait)
        if wait == 0:
            return 0  # within the free tries (even when the clock went back since the last one)
        left = wait - (now - last).total_seconds()
        return max(0, math.ceil(left))


@dataclass(frozen=True)
class SignInKeys:
    """The counts one sign-in attempt touches: a failure adds to every ``counted`` key;
    the attempt waits for the back-off of every ``held`` key. A success clears only the
    count of ``account_at_address``."""

    counted: dict[str, Limit]
    held: dict[str, Limit]
    account_at_address: str


def sign_in_keys(email: str, ip: str | None, known_address: bool) -> SignInKeys:
    """The keys of a sign-in as ``email`` (normalised) from ``ip``.

    ``known_address``: the account has signed in from ``ip`` before (within
    :data:`KNOWN_ADDRESS_FOR`); its failures still count against the account, but the
    account-wide ceiling does not hold it.
    """
    address = ip or "unknown"
    pair, by_address, account = f"email-ip:{email}|{address}", f"ip:{address}", f"email:{email}"
    counted = {pair: PER_ACCOUNT_AT_ADDRESS, by_address: PER_ADDRESS, account: PER_ACCOUNT}
    held = {key: limit for key, limit in counted.items() if not (known_address and key == account)}
    return SignInKeys(counted=counted, held=held, account_at_address=pair)


def wait_seconds(counts: Mapping[str, Throttle], keys: SignInKeys, now: datetime) -> int:
    """Seconds this attempt must wait: the longest back-off among the keys that hold it."""
    return longest_wait(counts, keys.held, now)


def longest_wait(counts: Mapping[str, Throttle], limits: Mapping[str, Limit], now: datetime) -> int:
    """Seconds to wait: the longest back-off among ``limits``' keys."""
    return max((counts[key].retry_after(now, limit.free, limit.max_wait)
                for key, limit in limits.items() if key in counts), default=0)


# Asking the portal to send a mail (a password reset link, a new confirmation link) counts
# every request, found or not, so the count says nothing about the address. A few per email
# and an hour are plenty for a person; beyond them the back-off holds a script that would
# fill someone's inbox, and the address limit one that walks through many emails.
MAIL_REQUESTS_PER_EMAIL = Limit(free=3)
MAIL_REQUESTS_PER_ADDRESS = Limit(free=20)
# Links tried per address (a reset link carries 256 random bits: this only keeps a script
# from hammering the service).
LINK_TRIES_PER_ADDRESS = Limit(free=10)


def mail_request_limits(purpose: str, email: str | None, ip: str | None) -> dict[str, Limit]:
    """The counts one request for a ``purpose`` mail ("reset", "confirm") adds to."""
    limits = {f"{purpose}-ip:{ip or 'unknown'}": MAIL_REQUESTS_PER_ADDRESS}
    if email:
        limits[f"{purpose}-email:{email}"] = MAIL_REQUESTS_PER_EMAIL
    return limits


LINK_TRIES_PER_EMAIL = Limit(free=10)


def link_try_limits(purpose: str, ip: str | None) -> dict[str, Limit]:
    """The count one use of a ``purpose`` link (found or not) adds to."""
    return {f"{purpose}-link-ip:{ip or 'unknown'}": LINK_TRIES_PER_ADDRESS}


def link_owner_limits(purpose: str, email: str) -> dict[str, Limit]:
    """The count one use of a ``purpose`` link of ``email``'s user adds to (from anywhere)."""
    return {f"{purpose}-link-email:{email}": LINK_TRIES_PER_EMAIL}
