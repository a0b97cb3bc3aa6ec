"""Billing status of an account, and the roll-up of a partner (or the Direct Accounts). Pure.

An account's status comes from the bills it is on (its line of a consolidated invoice,
or its annual invoice):

- **None**: on no bill yet (a trial, or before its first bill);
- **Overdue**: a bill is unpaid and ``today`` is after its due date (from the day after);
- **Due**: a bill is unpaid, not past its due date;
- **Current**: every bill is paid.

The amount due is the account's share of its unpaid bills. A roll-up (a partner, or the
Direct Accounts) is "With exceptions" when money is owed: any of its accounts is Due or
Overdue (an unpaid bill, a failed card charge included). It is "All bills on track" when
nothing is owed: every account is Current or None, or there is no account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.billing import BillingStatus, RollupStatus
from services.billing.domain.money import ZERO


@dataclass(frozen=True)
class BillShare:
    """An account's part of one bill."""

    amount: Decimal
    due_date: date
    paid: bool
    charge_failed: bool = False


@dataclass(frozen=True)
class AccountBills:
    """What the status needs to know of an account's bills (a summary of its shares)."""

    bills: int = 0
    unpaid_amount: Decimal = ZERO
    earliest_unpaid_due: date | None = None
    unpaid_charge_failed: bool = False


def summarise(shares: Iterable[BillShare]) -> AccountBills:
    shares = list(shares)
    unpaid = [share for share in shares if not share.paid]
    return AccountBills(
        bills=len(shares),
        unpaid_amount=sum((share.amount for share in unpaid), ZERO),
        earliest_unpaid_due=min((share.due_date for share in unpaid), default=None),
        unpaid_charge_failed=any(share.charge_failed for share in unpaid),
    )


def account_status(bills: AccountBills, today: date) -> BillingStatus:
    if bills.bills == 0:
        return BillingStatus.NONE
    if bills.earliest_unpaid_due is None:
        return BillingStatus.CURRENT
    return BillingStatus.OVERDUE if today > bills.earliest_unpaid_due else BillingStatus.DUE


OWING = frozenset({BillingStatus.DUE, BillingStatus.OVERDUE})


def rollup_status(account_statuses: Iterable[BillingStatus]) -> RollupStatus:
    """The roll-up of the accounts under one owner, from their statuses."""
    owes = any(state in OWING for state in account_statuses)
    return RollupStatus.WITH_EXCEPTIONS if owes else RollupStatus.ON_TRACK
