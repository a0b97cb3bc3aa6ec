"""Billing's facts about an account, as tenancy keeps them beside its own columns. Pure.

Billing owns them and announces each change (``account_billing_changed``) with a version
that grows by one per change; tenancy keeps the newest version it has heard and ignores an
older or repeated one, so any order and any number of redeliveries end in the same columns.

The billing status is read from the facts on the day it is shown (billing's rule):
**None** with no bill, **Current** when nothing is unpaid, **Overdue** from
``overdue_from`` on, otherwise **Due**. An owner (a partner, or a distributor's direct
accounts) keeps the sum of what its accounts owe and how many owe anything: it is "With
exceptions" while any does, "All bills on track" otherwise. Neither depends on the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.billing import BillingStatus, RollupStatus

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BillingFacts:
    version: int = 0
    bills: int = 0
    amount_due: Decimal = ZERO
    currency: str | None = None
    overdue_from: date | None = None

    @property
    def owes(self) -> bool:
        """An unpaid bill exists (Due or Overdue)."""
        return self.overdue_from is not None

    def status_on(self, today: date) -> BillingStatus:
        if self.bills == 0:
            return BillingStatus.NONE
        if self.overdue_from is None:
            return BillingStatus.CURRENT
        return BillingStatus.OVERDUE if today >= self.overdue_from else BillingStatus.DUE


def supersedes(incoming: BillingFacts, stored: BillingFacts) -> bool:
    """Only a newer version replaces what is kept (a late or repeated one changes nothing)."""
    return incoming.version > stored.version


@dataclass(frozen=True)
class OwnerBillingDelta:
    """What an account's change adds to its owner's sums."""

    owed: Decimal
    owing: int

    def __bool__(self) -> bool:
        return bool(self.owed) or bool(self.owing)


def owner_delta(old: BillingFacts, new: BillingFacts) -> OwnerBillingDelta:
    return OwnerBillingDelta(owed=new.amount_due - old.amount_due, owing=int(new.owes) - int(old.owes))


def owner_status(owing_accounts: int) -> RollupStatus:
    return RollupStatus.WITH_EXCEPTIONS if owing_accounts > 0 else RollupStatus.ON_TRACK
