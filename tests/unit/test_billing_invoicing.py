"""Price book, periods and proration, and composing bills: hand-checked to the cent."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from contracts.errors import ValidationFailed
from contracts.tenancy import Plan
from services.billing.adapters.price_book_file import load_price_book
from services.billing.domain.invoicing import AccountUsage, ServiceSeats, compose_annual, compose_consolidated, prorated
from services.billing.domain.periods import (
    Period,
    active_days,
    add_years,
    annual_term,
    due_date,
    month_ended_before,
    month_of,
    renewal_date,
)
from services.billing.domain.pricebook import PriceBook
from services.billing.domain.references import format_reference, parse_reference

BOOK = load_price_book()
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def usage(name: str, services: dict[str | None, int], days: int = 30) -> AccountUsage:
    return AccountUsage(uuid.uuid4(), name, None, [ServiceSeats(s, n) for s, n in services.items()], days)


# ---- price book ---------------------------------------------------------------------------------------


def test_the_shipped_price_book_prices_each_service_per_seat_per_month():
    assert BOOK.monthly_price("USD", "exchange") == Decimal("2.50")
    assert BOOK.monthly_price("USD", "teams") == Decimal("1.50")
    assert BOOK.monthly_price("USD", None) == Decimal("3.00")  # a service not learned yet
    assert BOOK.monthly_price("EUR", "salesforce") == Decimal("3.70")


def test_annual_is_twelve_months_less_the_discount_to_the_cent():
    assert BOOK.annual_price("USD", "exchange") == Decimal("27.00")  # 2.50 x 12 x 0.90
    book = BOOK.model_copy(update={"annual_discount_percent": Decimal("12.5")})
    assert book.annual_price("USD", "dropbox") == Decimal("23.63")  # 2.25 x 12 x 0.875 = 23.625, half up


def test_an_unknown_currency_is_a_field_error():
    with pytest.raises(ValidationFailed) as refused:
        BOOK.prices("JPY")
    assert refused.value.details["fields"][0]["field"] == "currency"


def test_bank_transfer_is_for_invoices_over_the_threshold_only():
    assert not BOOK.bank_transfer_allowed("USD", Decimal("1000.00"))
    assert BOOK.bank_transfer_allowed("USD", Decimal("1000.01"))


def test_a_price_book_with_a_bad_currency_code_is_refused():
    with pytest.raises(ValueError, match="ISO 4217"):
        PriceBook.model_validate({"currencies": {"usd": {"default": "1", "bank_transfer_over": "1"}}})


# ---- periods --------------------------------------------------------------------------------------------


def test_a_run_bills_the_month_that_ended_before_its_day():
    assert month_ended_before(date(2026, 12, 1)) == NOVEMBER
    assert month_ended_before(date(2026, 12, 17)) == NOVEMBER
    assert month_ended_before(date(2027, 1, 1)) == Period(date(2026, 12, 1), date(2026, 12, 31))
    assert month_of(date(2028, 2, 10)).days == 29


def test_active_days_count_both_the_first_and_the_last_day():
    assert active_days(NOVEMBER, None, None) == 30
    assert active_days(NOVEMBER, date(2026, 11, 16), None) == 15
    assert active_days(NOVEMBER, date(2026, 10, 3), date(2026, 11, 10)) == 10
    assert active_days(NOVEMBER, date(2026, 11, 5), date(2026, 11, 5)) == 1
    assert active_days(NOVEMBER, date(2026, 12, 1), None) == 0


def test_annual_terms_run_from_the_subscription_day_and_survive_leap_days():
    assert annual_term(date(2026, 3, 15), date(2027, 3, 14)) == Period(date(2026, 3, 15), date(2027, 3, 14))
    assert annual_term(date(2026, 3, 15), date(2027, 3, 15)).start == date(2027, 3, 15)
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert renewal_date(True, date(2026, 3, 15), date(2026, 11, 1)) == date(2027, 3, 15)
    assert renewal_date(False, date(2026, 3, 15), date(2026, 11, 20)) == date(2026, 12, 1)


def test_invoices_are_due_thirty_days_after_issue():
    assert due_date(date(2026, 12, 1)) == date(2026, 12, 31)


# ---- composition ---------------------------------------------------------------------------------------


def test_proration_rounds_half_up_to_the_cent():
    assert prorated(1, Decimal("2.25"), 3, 30) == Decimal("0.23")  # 0.225: half up, not half even
    assert prorated(13, Decimal("2.50"), 10, 30) == Decimal("10.83")  # 10.8333...
    assert prorated(7, Decimal("2.50"), 30, 30) == Decimal("17.50")


def test_a_month_of_a_small_distributor_gives_the_hand_checked_consolidated_invoice():
    accounts = [
        usage("Alpine Dental", {"exchange": 10, "onedrive": 10}),  # 25.00 + 20.00 = 45.00
        usage("Birch Legal", {"exchange": 7}, days=15),  # 7 x 2.50 x 15/30 = 8.75
        usage("Cedar Works", {"exchange": 13}, days=10),  # 13 x 2.50 x 10/30 = 10.8333 -> 10.83
        usage("Dune Studio", {"dropbox": 1}, days=3),  # 1 x 2.25 x 3/30 = 0.225 -> 0.23
        usage("Empty Trial", {"exchange": 0}),  # nothing protected: no line
    ]

    invoice = compose_consolidated(accounts, BOOK, "USD", NOVEMBER)

    assert [(line.account_name, line.amount) for line in invoice.lines] == [
        ("Alpine Dental", Decimal("45.00")), ("Birch Legal", Decimal("8.75")),
        ("Cedar Works", Decimal("10.83")), ("Dune Studio", Decimal("0.23")),
    ]
    assert invoice.total == Decimal("64.81")
    alpine = invoice.lines[0]
    assert (alpine.seats, alpine.days, alpine.period_days) == (20, 30, 30)
    assert [(i.service, i.seats, i.unit_price, i.amount) for i in alpine.items] == [
        ("exchange", 10, Decimal("2.50"), Decimal("25.00")), ("onedrive", 10, Decimal("2.00"), Decimal("20.00"))]


def test_tasks_of_one_service_add_up_on_one_item():
    invoice = compose_consolidated([AccountUsage(uuid.uuid4(), "Fjord", None,
                                                 [ServiceSeats("exchange", 4), ServiceSeats("exchange", 6),
                                                  ServiceSeats(None, 2)], 30)], BOOK, "USD", NOVEMBER)

    assert [(i.service, i.seats, i.amount) for i in invoice.lines[0].items] == [
        ("exchange", 10, Decimal("25.00")), (None, 2, Decimal("6.00"))]


def test_an_annual_invoice_charges_a_year_of_current_seats_without_proration():
    term = annual_term(date(2026, 11, 20), date(2026, 11, 20))

    invoice = compose_annual(usage("Granite Co", {"exchange": 12, "teams": 12}, days=term.days), BOOK, "USD", term)

    # 12 x 27.00 + 12 x (1.50 x 12 x 0.9 = 16.20) = 324.00 + 194.40
    assert invoice.total == Decimal("518.40")
    assert invoice.lines[0].plan is Plan.ANNUAL
    assert invoice.period == Period(date(2026, 11, 20), date(2027, 11, 19))


def test_an_annual_account_with_no_protected_seat_gets_no_line():
    term = annual_term(date(2026, 11, 20), date(2026, 11, 20))
    assert compose_annual(usage("Empty", {}, days=term.days), BOOK, "USD", term).lines == ()


# ---- references ------------------------------------------------------------------------------------------


def test_references_are_human_numbers_per_year():
    assert format_reference(2026, 123) == "INV-2026-000123"
    assert parse_reference("INV-2026-000123") == (2026, 123)
    assert parse_reference("INV-26-1") is None
    with pytest.raises(ValueError):
        format_reference(2026, 0)
