"""What a billing run bills (domain/billing_plan.py): pure, no database."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from contracts.billing import BillingMethod, InvoiceKind, SkipReason
from services.billing.adapters.price_book_file import load_price_book
from services.billing.domain.billing_plan import (
    AnnualAccount,
    Party,
    RunTally,
    annual_bills,
    annual_keys,
    card_due_date,
    consolidated_bills,
    issued_event,
    owed_by_owner,
    payers_with_a_method,
)
from services.billing.domain.invoicing import AccountUsage, ServiceSeats
from services.billing.domain.periods import Period

BOOK = load_price_book()
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
RUN_DAY = date(2026, 12, 1)
DISTRIBUTOR = uuid.UUID(int=1)
PARTNER = uuid.UUID(int=2)
BY_INVOICE = Party("USD", BillingMethod.INVOICE, None, ["Northwind"])
BY_CARD = Party("USD", BillingMethod.CREDIT_CARD, 15, ["Northwind"])


def monthly(name: str, seats: int, partner: uuid.UUID | None = None, days: int = 30) -> AccountUsage:
    return AccountUsage(uuid.uuid4(), name, partner, [ServiceSeats("exchange", seats)], days)


def annual(subscribed: date, distributor: uuid.UUID = DISTRIBUTOR) -> AnnualAccount:
    return AnnualAccount(uuid.uuid4(), "Contoso", None, distributor, subscribed)


def test_a_distributor_without_a_billing_method_is_skipped_whole() -> None:
    tally = RunTally()
    undecided = uuid.UUID(int=9)
    payers = {DISTRIBUTOR: BY_INVOICE, undecided: Party("USD", None, None, [])}
    assert payers_with_a_method([DISTRIBUTOR, undecided], payers, tally) == [DISTRIBUTOR]
    assert tally.skipped_counts() == {SkipReason.METHOD_NOT_CHOSEN: 1}


def test_a_month_is_one_consolidated_bill_per_distributor_due_in_30_days() -> None:
    usage = {DISTRIBUTOR: [monthly("Beta", 2), monthly("alpha", 4, PARTNER)]}
    [bill] = consolidated_bills([DISTRIBUTOR], {DISTRIBUTOR: BY_INVOICE}, usage, BOOK, NOVEMBER, RUN_DAY)
    assert bill.kind is InvoiceKind.CONSOLIDATED and bill.account_id is None
    assert bill.period_key == f"consolidated:{DISTRIBUTOR}:2026-11-01"
    assert bill.due_date == RUN_DAY + timedelta(days=30) and not bill.auto_charge
    assert [line.account_name for line in bill.composition.lines] == ["alpha", "Beta"]  # by name, any case
    assert bill.composition.total == Decimal("15.00")  # 6 Exchange seats at 2.50 for the whole month


def test_a_card_payer_is_charged_on_its_payment_day() -> None:
    usage = {DISTRIBUTOR: [monthly("Contoso", 1)]}
    [bill] = consolidated_bills([DISTRIBUTOR], {DISTRIBUTOR: BY_CARD}, usage, BOOK, NOVEMBER, RUN_DAY)
    assert bill.auto_charge and bill.due_date == date(2026, 12, 15)


def test_the_payment_day_already_past_this_month_moves_to_the_next() -> None:
    assert card_due_date(date(2026, 12, 20), 15) == date(2027, 1, 15)
    assert card_due_date(date(2026, 12, 15), 15) == date(2026, 12, 15)
    assert card_due_date(date(2026, 12, 20), None) == date(2026, 12, 20)


def test_a_distributor_with_nothing_used_gets_no_bill() -> None:
    usage = {DISTRIBUTOR: [monthly("Idle", 0)]}
    assert consolidated_bills([DISTRIBUTOR], {DISTRIBUTOR: BY_INVOICE}, usage, BOOK, NOVEMBER, RUN_DAY) == []


def test_each_owner_owes_its_own_accounts_lines() -> None:
    usage = {DISTRIBUTOR: [monthly("Direct", 2), monthly("Managed", 4, PARTNER)]}
    [bill] = consolidated_bills([DISTRIBUTOR], {DISTRIBUTOR: BY_INVOICE}, usage, BOOK, NOVEMBER, RUN_DAY)
    assert owed_by_owner(bill) == {DISTRIBUTOR: Decimal("5.00"), PARTNER: Decimal("10.00")}


def test_an_annual_term_is_billed_under_its_term_start() -> None:
    account = annual(date(2025, 12, 10))
    terms = annual_keys([account], RUN_DAY)
    term, key = terms[account.id]
    assert term.start == date(2025, 12, 10) and key == f"annual:{account.id}:2025-12-10"
    [bill] = annual_bills([account], terms, {DISTRIBUTOR: BY_CARD}, {account.id: [ServiceSeats("exchange", 3)]},
                          BOOK, RUN_DAY)
    # Annual bills are invoices whatever the method, due in 30 days.
    assert bill.kind is InvoiceKind.ANNUAL and bill.method is BillingMethod.INVOICE and not bill.auto_charge
    assert bill.account_id == account.id and bill.due_date == RUN_DAY + timedelta(days=30)


def test_an_annual_term_with_no_protected_seat_waits() -> None:
    account = annual(date(2026, 11, 20))
    terms = annual_keys([account], RUN_DAY)
    assert annual_bills([account], terms, {DISTRIBUTOR: BY_INVOICE}, {}, BOOK, RUN_DAY) == []


def test_the_tally_keeps_a_bounded_list_of_references() -> None:
    tally = RunTally()
    for number in range(150):
        tally.issued(f"INV-2026-{number:06d}", accounts=2, annual=number % 2 == 0)
    assert (tally.annual, tally.consolidated, tally.accounts_billed) == (75, 75, 300)
    assert len(tally.references) == 100


def test_an_annual_term_is_billed_once_whatever_day_of_it_the_run_falls_on() -> None:
    account = annual(date(2025, 12, 10))
    keys = {annual_keys([account], day)[account.id][1]
            for day in (date(2025, 12, 10), date(2026, 3, 1), date(2026, 12, 9))}
    renewal = annual_keys([account], date(2026, 12, 10))[account.id][1]
    assert keys == {f"annual:{account.id}:2025-12-10"}
    assert renewal == f"annual:{account.id}:2026-12-10"


def test_an_issued_bill_tells_its_amount_lines_and_whether_it_is_consolidated() -> None:
    [bill] = consolidated_bills([DISTRIBUTOR], {DISTRIBUTOR: BY_INVOICE},
                                {DISTRIBUTOR: [monthly("Alpine", 2), monthly("Birch", 1, PARTNER)]}, BOOK, NOVEMBER,
                                RUN_DAY)
    invoice_id = uuid.uuid4()
    event = issued_event(bill, invoice_id, "INV-2026-000001")
    assert (event.invoice_id, event.reference, event.consolidated, event.lines) == (
        invoice_id, "INV-2026-000001", True, 2)
    assert event.amount == bill.composition.total and event.due_date == RUN_DAY + timedelta(days=30)
    assert event.account_id is None and event.method is BillingMethod.INVOICE
