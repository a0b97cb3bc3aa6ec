"""What a billing run bills: pure decisions, no database.

The use case (usecases/billing_run.py) reads the month's usage and the annual terms due
(adapters/billing_inputs.py), asks this module which bills to issue, and hands each to the
invoice store (adapters/invoice_store.py), which issues it under its period key.

- A distributor that has not chosen its billing method is skipped whole: nothing is issued
  for it, so the first run after it chooses bills those periods in full.
- A consolidated bill is one per distributor and month, one line per monthly account
  subscribed for at least one day of the month; due 30 days after the run's day, or, with
  the credit-card method, charged on the distributor's payment day.
- An annual bill is one per account and term, for the seats it protects now; a term with no
  protected seat waits for the first run that finds some.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from contracts.billing import BillingMethod, InvoiceIssued, InvoiceKind, SkipReason
from services.billing.domain.invoicing import (
    AccountUsage,
    Composition,
    ServiceSeats,
    compose_annual,
    compose_consolidated,
)
from services.billing.domain.periods import Period, annual_term, due_date
from services.billing.domain.pricebook import PriceBook

MAX_REFERENCES = 100


def consolidated_key(distributor_id: uuid.UUID, period: Period) -> str:
    return f"consolidated:{distributor_id}:{period.start.isoformat()}"


def annual_key(account_id: uuid.UUID, term: Period) -> str:
    return f"annual:{account_id}:{term.start.isoformat()}"


@dataclass(frozen=True)
class Party:
    """Who a distributor's bills go to, and how it pays: read once per run."""

    currency: str
    method: BillingMethod | None  # None: not chosen yet, nothing is billed to it
    payment_day: int | None
    bill_to: list[str]


@dataclass(frozen=True)
class NewBill:
    kind: InvoiceKind
    period_key: str
    distributor_id: uuid.UUID
    account_id: uuid.UUID | None
    composition: Composition
    issue_date: date
    due_date: date
    method: BillingMethod
    bill_to: list[str]
    auto_charge: bool


@dataclass(frozen=True)
class AnnualAccount:
    """An annual account whose term may be due: what billing knows of it."""

    id: uuid.UUID
    name: str | None
    partner_id: uuid.UUID | None
    distributor_id: uuid.UUID
    subscribed_on: date


@dataclass
class RunTally:
    consolidated: int = 0
    annual: int = 0
    already_billed: int = 0
    accounts_billed: int = 0
    references: list[str] = field(default_factory=list)
    skipped: dict[SkipReason, set[uuid.UUID]] = field(default_factory=dict)

    def skip(self, distributor_id: uuid.UUID, reason: SkipReason) -> None:
        self.skipped.setdefault(reason, set()).add(distributor_id)

    def skipped_counts(self) -> dict[SkipReason, int]:
        return {reason: len(ids) for reason, ids in self.skipped.items()}

    def issued(self, reference: str, accounts: int, annual: bool) -> None:
        if annual:
            self.annual += 1
        else:
            self.consolidated += 1
        self.accounts_billed += accounts
        if len(self.references) < MAX_REFERENCES:
            self.references.append(reference)


def days_of(period: Period) -> Iterable[date]:
    for offset in range(period.days):
        yield period.start + timedelta(days=offset)


def card_due_date(issue_day: date, payment_day: int | None) -> date:
    """A card bill is charged on the payment day: this month's if still to come, else next month's."""
    if payment_day is None or issue_day.day == payment_day:
        return issue_day
    if issue_day.day < payment_day:
        return issue_day.replace(day=payment_day)
    next_month = (issue_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return next_month.replace(day=payment_day)


def payers_with_a_method(distributors: Iterable[uuid.UUID], payers: Mapping[uuid.UUID, Party],
                         tally: RunTally) -> list[uuid.UUID]:
    """The distributors that chose how to pay; the others are counted as skipped."""
    chosen = []
    for distributor in distributors:
        if payers[distributor].method is None:
            tally.skip(distributor, SkipReason.METHOD_NOT_CHOSEN)
        else:
            chosen.append(distributor)
    return chosen


def consolidated_bills(distributors: Iterable[uuid.UUID], payers: Mapping[uuid.UUID, Party],
                       usage: Mapping[uuid.UUID, list[AccountUsage]], book: PriceBook, period: Period,
                       as_of: date) -> list[NewBill]:
    """One bill per distributor (each with a method) that has something to bill in ``period``."""
    bills = []
    for distributor in distributors:
        payer = payers[distributor]
        assert payer.method is not None, "skipped before planning"
        composition = compose_consolidated(usage.get(distributor, []), book, payer.currency, period)
        if not composition.lines:
            continue
        card = payer.method is BillingMethod.CREDIT_CARD
        bills.append(NewBill(
            kind=InvoiceKind.CONSOLIDATED, period_key=consolidated_key(distributor, period),
            distributor_id=distributor, account_id=None, composition=composition, issue_date=as_of,
            due_date=card_due_date(as_of, payer.payment_day) if card else due_date(as_of),
            method=payer.method, bill_to=payer.bill_to, auto_charge=card,
        ))
    return bills


def annual_keys(accounts: Iterable[AnnualAccount], as_of: date) -> dict[uuid.UUID, tuple[Period, str]]:
    """Each account's term running on ``as_of``, and the key it is billed under."""
    return {account.id: (term, annual_key(account.id, term))
            for account in accounts for term in [annual_term(account.subscribed_on, as_of)]}


def annual_bills(accounts: Iterable[AnnualAccount], terms: Mapping[uuid.UUID, tuple[Period, str]],
                 payers: Mapping[uuid.UUID, Party], seats: Mapping[uuid.UUID, list[ServiceSeats]],
                 book: PriceBook, as_of: date) -> list[NewBill]:
    """One invoice per account and term, for the seats protected now; none without seats."""
    bills = []
    for account in accounts:
        term, key = terms[account.id]
        payer = payers[account.distributor_id]
        usage = AccountUsage(account.id, account.name or str(account.id), account.partner_id,
                             seats.get(account.id, []), term.days)
        composition = compose_annual(usage, book, payer.currency, term)
        if not composition.lines:
            continue  # nothing protected yet: billed by the first run that finds seats
        bills.append(NewBill(
            kind=InvoiceKind.ANNUAL, period_key=key, distributor_id=account.distributor_id, account_id=account.id,
            composition=composition, issue_date=as_of, due_date=due_date(as_of), method=BillingMethod.INVOICE,
            bill_to=payer.bill_to, auto_charge=False,
        ))
    return bills


def owed_by_owner(bill: NewBill) -> dict[uuid.UUID, Decimal]:
    """What each owner (a partner, or the distributor for its direct accounts) owes of a bill."""
    owed: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for line in bill.composition.lines:
        owed[line.partner_id or bill.distributor_id] += line.amount
    return dict(owed)


def issued_event(bill: NewBill, invoice_id: uuid.UUID, reference: str) -> InvoiceIssued:
    """``invoice_issued``: what a bill, once written under ``reference``, tells the others."""
    composition = bill.composition
    return InvoiceIssued(
        invoice_id=invoice_id, reference=reference, distributor_id=bill.distributor_id,
        account_id=bill.account_id, consolidated=bill.kind is InvoiceKind.CONSOLIDATED,
        period_start=composition.period.start, period_end=composition.period.end, issue_date=bill.issue_date,
        due_date=bill.due_date, amount=composition.total, currency=composition.currency,
        lines=len(composition.lines), method=bill.method,
    )
