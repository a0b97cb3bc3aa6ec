"""The subscription life of a customer account. Pure domain code: pass ``now`` in.

Stored states (``Lifecycle``): a trial, an expired trial, subscribed (monthly or annual),
removed. What the portal shows (``AccountStatus``) splits a trial into "started" and
"expiring" (its last 3 days) by the clock.

- A new account starts from its subscription choice (the owner's default unless given):
  a 14-day trial that expires, a 14-day trial that then subscribes monthly or annually,
  or a subscription at once.
- At the end of the trial (day 14) a trial with auto-subscription is subscribed to its
  plan, any other trial expires.
- "Subscribe trials" changes trial accounts only (running or expired ones).
- Only a trial may be deleted; anything else is a conflict.
- Removal needs ``approve_data_removal``; a removed account cannot be removed again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.errors import Conflict, ValidationFailed
from contracts.tenancy import AccountStatus, AccountStatusChanged, BackupStatus, DefaultSubscription, Plan

TRIAL_LENGTH = timedelta(days=14)
EXPIRING_WINDOW = timedelta(days=3)


class Lifecycle(StrEnum):
    TRIAL = "trial"
    TRIAL_EXPIRED = "trial_expired"
    SUBSCRIBED = "subscribed"
    REMOVED = "removed"


TRIAL_STATES = frozenset({Lifecycle.TRIAL, Lifecycle.TRIAL_EXPIRED})

_AUTO_PLAN = {
    DefaultSubscription.TRIAL_EXPIRING: None,
    DefaultSubscription.TRIAL_AUTO_MONTHLY: Plan.MONTHLY,
    DefaultSubscription.TRIAL_AUTO_ANNUAL: Plan.ANNUAL,
}
_IMMEDIATE_PLAN = {
    DefaultSubscription.SUBSCRIBE_MONTHLY: Plan.MONTHLY,
    DefaultSubscription.SUBSCRIBE_ANNUAL: Plan.ANNUAL,
}


@dataclass(frozen=True)
class Subscription:
    status: Lifecycle
    plan: Plan | None = None
    auto_subscribe: Plan | None = None
    trial_started_at: datetime | None = None
    trial_ends_at: datetime | None = None
    subscribed_at: datetime | None = None
    expired_at: datetime | None = None
    removed_at: datetime | None = None


def start(choice: DefaultSubscription, now: datetime) -> Subscription:
    """The state of a new account created ``now`` with subscription ``choice``."""
    if choice in _IMMEDIATE_PLAN:
        return Subscription(Lifecycle.SUBSCRIBED, plan=_IMMEDIATE_PLAN[choice], subscribed_at=now)
    return Subscription(
        Lifecycle.TRIAL, auto_subscribe=_AUTO_PLAN[choice], trial_started_at=now, trial_ends_at=now + TRIAL_LENGTH
    )


def expiring_from(now: datetime) -> datetime:
    """A running trial that ends at or before this moment is "expiring"."""
    return now + EXPIRING_WINDOW


def account_status(sub: Subscription, now: datetime) -> AccountStatus:
    if sub.status is Lifecycle.TRIAL:
        assert sub.trial_ends_at is not None
        # Past its end but not yet moved by the trial clock: still shown as expiring.
        if sub.trial_ends_at <= expiring_from(now):
            return AccountStatus.TRIAL_EXPIRING
        return AccountStatus.TRIAL_STARTED
    if sub.status is Lifecycle.TRIAL_EXPIRED:
        return AccountStatus.TRIAL_EXPIRED
    if sub.status is Lifecycle.SUBSCRIBED:
        return AccountStatus.ANNUAL_SUBSCRIBED if sub.plan is Plan.ANNUAL else AccountStatus.MONTHLY_SUBSCRIBED
    return AccountStatus.REMOVED


def is_due(sub: Subscription, as_of: datetime) -> bool:
    """Whether the trial clock moves this account at ``as_of``."""
    return sub.status is Lifecycle.TRIAL and sub.trial_ends_at is not None and sub.trial_ends_at <= as_of


def end_trial(sub: Subscription, as_of: datetime) -> Subscription:
    """Day 14: auto-subscribe where chosen (from the trial's end), otherwise expire."""
    if not is_due(sub, as_of):
        raise Conflict("the trial has not ended")
    assert sub.trial_ends_at is not None
    if sub.auto_subscribe is not None:
        return replace(sub, status=Lifecycle.SUBSCRIBED, plan=sub.auto_subscribe, subscribed_at=sub.trial_ends_at)
    return replace(sub, status=Lifecycle.TRIAL_EXPIRED, expired_at=sub.trial_ends_at)


def subscribe_trial(sub: Subscription, plan: Plan, now: datetime) -> Subscription:
    if sub.status not in TRIAL_STATES:
        raise Conflict("only a trial account can be subscribed this way")
    return replace(sub, status=Lifecycle.SUBSCRIBED, plan=plan, subscribed_at=now)


def check_deletable(sub: Subscription) -> None:
    if sub.status not in TRIAL_STATES:
        raise Conflict(
            "only a trial can be deleted; remove a subscribed account with approval of data removal",
            {"status": str(sub.status)},
        )


def remove(sub: Subscription, approve_data_removal: bool, now: datetime) -> Subscription:
    if not approve_data_removal:
        raise ValidationFailed.for_field("approve_data_removal", "must be true: removal deletes all backup data")
    if sub.status is Lifecycle.REMOVED:
        raise Conflict("the account is already removed")
    return replace(sub, status=Lifecycle.REMOVED, removed_at=now)


Shown = tuple[AccountStatus, BackupStatus]


def status_change(account_id: uuid.UUID, owner_id: uuid.UUID, size_bytes: int, seats: int,
                  before: Shown, after: Shown) -> dict[str, Any] | None:
    """The ``account_status_changed`` payload when the shown or backup status changed."""
    if before == after:
        return None
    return AccountStatusChanged(
        account_id=account_id, owner_id=owner_id,
        account_status=after[0], previous_account_status=before[0],
        backup_status=after[1], previous_backup_status=before[1],
        size_bytes=size_bytes, seats=seats,
    ).to_wire()
