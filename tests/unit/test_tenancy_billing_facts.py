"""Billing's facts as tenancy keeps them: status by day, newest version wins, owner sums (pure)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from contracts.billing import BillingStatus, RollupStatus
from services.tenancy.domain.billing_facts import BillingFacts, owner_delta, owner_status, supersedes

UNPAID = BillingFacts(version=1, bills=1, amount_due=Decimal("45.00"), currency="USD",
                      overdue_from=date(2027, 1, 1))
PAID = BillingFacts(version=2, bills=1, amount_due=Decimal("0.00"), currency="USD")


def test_an_account_with_no_bill_is_none_and_a_paid_one_current():
    assert BillingFacts().status_on(date(2027, 1, 1)) is BillingStatus.NONE
    assert PAID.status_on(date(2030, 1, 1)) is BillingStatus.CURRENT


def test_an_unpaid_bill_is_due_until_the_day_after_its_due_date_then_overdue():
    assert UNPAID.status_on(date(2026, 12, 31)) is BillingStatus.DUE
    assert UNPAID.status_on(date(2027, 1, 1)) is BillingStatus.OVERDUE


def test_only_a_newer_version_replaces_the_facts_kept():
    assert supersedes(PAID, UNPAID)
    assert not supersedes(UNPAID, PAID)
    assert not supersedes(PAID, PAID)


def test_the_owner_gains_an_owing_account_and_loses_it_when_paid():
    owes = owner_delta(BillingFacts(), UNPAID)
    settled = owner_delta(UNPAID, PAID)

    assert (owes.owed, owes.owing) == (Decimal("45.00"), 1)
    assert (settled.owed, settled.owing) == (Decimal("-45.00"), -1)
    assert owner_status(owes.owing) is RollupStatus.WITH_EXCEPTIONS and owner_status(0) is RollupStatus.ON_TRACK


def test_any_order_and_any_repeats_end_in_the_newest_facts_and_the_same_owner_sums():
    versions = [BillingFacts(version=v, bills=v, amount_due=Decimal(v * 10), currency="USD",
                             overdue_from=date(2027, 1, v) if v % 2 else None) for v in range(1, 7)]
    rng = random.Random(7)
    for _ in range(50):
        stream = versions + rng.sample(versions, 3)
        rng.shuffle(stream)
        kept, owed, owing = BillingFacts(), Decimal(0), 0
        for incoming in stream:
            if supersedes(incoming, kept):
                delta = owner_delta(kept, incoming)
                kept, owed, owing = incoming, owed + delta.owed, owing + delta.owing
        assert kept == versions[-1]
        assert (owed, owing) == (versions[-1].amount_due, int(versions[-1].owes))
