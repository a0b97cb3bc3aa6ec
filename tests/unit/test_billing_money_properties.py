"""Properties of billing's money arithmetic, periods and proration (services/billing):
Decimal to the cent, half up; proration never over-charges and grows with the days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.tenancy import BackupService, Plan
from services.billing.adapters.price_book_file import load_price_book
from services.billing.domain.invoicing import AccountUsage, ServiceSeats, compose_consolidated, prorated
from services.billing.domain.money import CENT, cents, format_money
from services.billing.domain.periods import active_days, add_years, annual_term, month_of

# No per-example deadline: the machine is shared and timing is not what is tested.
PROPERTY = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])

BOOK = load_price_book()
amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=6,
                      allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("999.9999"), places=4)
seats = st.integers(0, 100_000)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@PROPERTY
@given(amounts)
def test_cents_rounds_to_the_nearest_cent_half_away_from_zero(value):
    rounded = cents(value)

    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")
    assert cents(rounded) == rounded
    if abs(rounded - value) == Decimal("0.005"):
        assert abs(rounded) > abs(value)  # half up: away from zero
    assert cents(-value) == -rounded


@PROPERTY
@given(st.integers(0, 10**9), st.sampled_from(["USD", "EUR"]))
def test_format_money_shows_the_amount_to_the_cent_with_separators(hundredths, currency):
    amount = Decimal(hundredths) * CENT

    shown = format_money(amount, currency)

    code, number = shown.split(" ")
    assert code == currency
    assert Decimal(number.replace(",", "")) == amount
    assert number.split(".")[1].isdigit() and len(number.split(".")[1]) == 2


@PROPERTY
@given(seats, prices, st.integers(28, 31).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_proration_is_within_a_cent_of_exact_and_never_above_the_whole_month(count, unit, split):
    active, period_days = split

    amount = prorated(count, unit, active, period_days)

    exact = count * unit * active / Decimal(period_days)
    assert abs(amount - exact) <= Decimal("0.005")
    assert Decimal(0) <= amount <= cents(count * unit)
    assert amount == cents(count * unit) if active == period_days else True
    assert amount == 0 if active == 0 else True


@PROPERTY
@given(seats, prices, st.integers(28, 31).flatmap(lambda n: st.tuples(st.integers(0, n), st.integers(0, n),
                                                                       st.just(n))))
def test_more_active_days_never_cost_less(count, unit, split):
    a, b, period_days = split
    fewer, more = sorted((a, b))

    assert prorated(count, unit, fewer, period_days) <= prorated(count, unit, more, period_days)


@PROPERTY
@given(days, st.integers(-40, 40), st.integers(-40, 40), st.integers(0, 40))
def test_active_days_of_a_split_stay_add_up_to_the_whole_stay(day, start_offset, end_offset, cut):
    period = month_of(day)
    started = period.start + timedelta(days=start_offset)
    ended = period.end + timedelta(days=end_offset)
    middle = started + timedelta(days=cut)

    whole = active_days(period, started, ended)
    parts = active_days(period, started, min(middle, ended)) + active_days(period, middle + timedelta(days=1), ended)

    assert 0 <= whole <= period.days
    assert parts == whole
    assert active_days(period, None, None) == period.days


@PROPERTY
@given(days, st.integers(0, 5 * 366))
def test_the_annual_term_on_a_day_contains_it_and_lasts_a_year(subscribed, later):
    today = subscribed + timedelta(days=later)

    term = annual_term(subscribed, today)

    assert term.contains(today)
    assert term.days in (365, 366)
    assert term.start.month == subscribed.month
    years = term.start.year - subscribed.year
    assert term.start == add_years(subscribed, years) and term.end + timedelta(days=1) == add_years(subscribed, years + 1)


account_usage = st.builds(
    AccountUsage,
    account_id=st.uuids(),
    account_name=st.text(min_size=1, max_size=20),
    partner_id=st.none() | st.uuids(),
    services=st.lists(st.builds(ServiceSeats, service=st.none() | st.sampled_from([s.value for s in BackupService]),
                                seats=st.integers(0, 5000)), max_size=5),
    active_days=st.integers(-3, 35),
)


@PROPERTY
@given(st.lists(account_usage, max_size=12), days, st.sampled_from(["USD", "EUR"]))
def test_a_consolidated_bill_is_the_sum_of_its_prorated_items_and_leaves_out_empty_accounts(usages, day, currency):
    period = month_of(day)

    bill = compose_consolidated(usages, BOOK, currency, period)

    assert bill.total == sum((line.amount for line in bill.lines), Decimal("0.00"))
    assert {line.account_id for line in bill.lines} == {
        u.account_id for u in usages if u.seats > 0 and min(u.active_days, period.days) > 0}
    for line in bill.lines:
        assert line.plan is Plan.MONTHLY and 0 < line.days <= period.days
        for item in line.items:
            assert item.seats > 0
            assert item.unit_price == BOOK.monthly_price(currency, item.service)
            assert item.amount == prorated(item.seats, item.unit_price, line.days, period.days)
    assert bill.total.as_tuple().exponent == -2


def test_the_month_of_every_day_is_a_calendar_month():
    # Exhaustive over four years, leap day included: 1,461 days.
    day = date(2024, 1, 1)
    while day < date(2028, 1, 1):
        period = month_of(day)
        assert period.start.day == 1 and period.contains(day)
        assert (period.end + timedelta(days=1)).day == 1
        day += timedelta(days=1)

