"""Billing status, roll-ups and the next-payment forecast."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from contracts.billing import BillingStatus, RollupStatus
from services.billing.domain.forecast import blended_unit_price, forecast_amount, forecast_seats, least_squares
from services.billing.domain.status import AccountBills, BillShare, account_status, rollup_status, summarise
from services.billing.usecases.queries import daily_series

DUE = date(2026, 12, 31)


def bills(*shares: BillShare) -> AccountBills:
    return summarise(shares)


def test_an_account_on_no_bill_has_no_status():
    assert account_status(AccountBills(), DUE) is BillingStatus.NONE


def test_an_unpaid_bill_is_due_up_to_its_due_date_and_overdue_the_day_after():
    unpaid = bills(BillShare(Decimal("45.00"), DUE, paid=False))

    assert account_status(unpaid, date(2026, 12, 1)) is BillingStatus.DUE
    assert account_status(unpaid, DUE) is BillingStatus.DUE
    assert account_status(unpaid, date(2027, 1, 1)) is BillingStatus.OVERDUE


def test_paying_every_bill_makes_the_account_current():
    paid = bills(BillShare(Decimal("45.00"), DUE, paid=True), BillShare(Decimal("9.00"), date(2026, 11, 30), True))

    assert account_status(paid, date(2027, 3, 1)) is BillingStatus.CURRENT
    assert paid.unpaid_amount == Decimal("0.00")


def test_the_worst_unpaid_bill_decides_and_unpaid_shares_add_up():
    mixed = bills(BillShare(Decimal("10.00"), date(2026, 11, 30), paid=False),
                  BillShare(Decimal("2.50"), DUE, paid=False), BillShare(Decimal("99.00"), DUE, paid=True))

    assert account_status(mixed, date(2026, 12, 5)) is BillingStatus.OVERDUE
    assert mixed.unpaid_amount == Decimal("12.50")


@pytest.mark.parametrize("statuses", [
    combo for size in range(len(BillingStatus) + 1) for combo in itertools.combinations(BillingStatus, size)],
    ids=lambda combo: "+".join(combo) or "no_account")
def test_an_owner_is_with_exceptions_exactly_when_one_of_its_accounts_owes_money(statuses):
    """Every combination of account statuses under one owner (the guide: "All bills on track"
    means nothing is owed; "With exceptions" means an account is Due or Overdue)."""
    owes = BillingStatus.DUE in statuses or BillingStatus.OVERDUE in statuses

    expected = RollupStatus.WITH_EXCEPTIONS if owes else RollupStatus.ON_TRACK
    assert rollup_status(statuses) is expected
    assert rollup_status(reversed(statuses)) is expected


def test_a_bill_due_but_not_overdue_already_puts_its_owner_with_exceptions():
    due = bills(BillShare(Decimal("3402.00"), DUE, paid=False))
    paid = bills(BillShare(Decimal("3402.00"), DUE, paid=True))

    assert rollup_status([account_status(due, date(2026, 12, 1)), account_status(paid, date(2026, 12, 1))]) \
        is RollupStatus.WITH_EXCEPTIONS
    assert rollup_status([account_status(paid, date(2027, 1, 1)), account_status(AccountBills(), DUE)]) \
        is RollupStatus.ON_TRACK


# ---- forecast ----------------------------------------------------------------------------------------


def test_least_squares_recovers_an_exact_line():
    intercept, slope = least_squares([10, 12, 14, 16, 18])
    assert (intercept, slope) == (Decimal(10), Decimal(2))


def test_least_squares_of_a_noisy_series_matches_the_hand_computed_fit():
    # t = 0..3, y = 1, 3, 2, 4: slope = 0.8, intercept = 1.3
    intercept, slope = least_squares([1, 3, 2, 4])
    assert slope == Decimal("0.8") and intercept == Decimal("1.3")


def test_a_flat_series_forecasts_the_same_seats():
    assert forecast_seats([40] * 30, days_ahead=12) == 40


def test_a_growing_series_is_extrapolated_to_the_bill_day():
    # one seat more a day, 20 .. 49; 10 days after the last: 59
    assert forecast_seats(list(range(20, 50)), days_ahead=10) == 59


def test_a_shrinking_series_never_forecasts_below_zero_or_the_peak_already_reached():
    assert forecast_seats([5, 4, 3, 2, 1], days_ahead=30) == 0
    assert forecast_seats([5, 4, 3, 2, 1], days_ahead=2, floor=5) == 5


def test_no_data_means_no_forecast_and_one_day_is_flat():
    assert forecast_seats([], days_ahead=3) is None
    assert forecast_seats([7], days_ahead=3) == 7


def test_the_forecast_amount_uses_the_blended_price_of_the_service_mix():
    unit = blended_unit_price([(10, Decimal("2.50")), (10, Decimal("2.00"))], Decimal("3.00"))
    assert unit == Decimal("2.25")
    assert forecast_amount(20, unit) == Decimal("45.00")
    assert forecast_amount(20, unit, days=15, period_days=30) == Decimal("22.50")
    assert blended_unit_price([], Decimal("3.00")) == Decimal("3.00")


@pytest.mark.parametrize(("observed", "expected"), [
    ({}, []),
    ({date(2026, 11, 28): 5}, [5, 5, 5]),
    ({date(2026, 11, 28): 5, date(2026, 11, 30): 8}, [5, 5, 8]),
])
def test_days_without_a_run_carry_the_previous_total_forward(observed, expected):
    assert daily_series(observed, date(2026, 11, 30), fallback=0) == expected
