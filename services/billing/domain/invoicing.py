"""Composing bills from usage. Pure code.

A **consolidated** invoice bills a distributor's monthly accounts for one calendar month:
one line per account; the line's amount is the sum of its items, one item per backup
service: ``peak protected seats x monthly unit price x active days / days in the month``,
rounded half up to the cent per item. An **annual** invoice bills one account for a year
of its current seats at the annual unit price (no proration: the term starts on the day
it subscribed). The total is the sum of the lines. Accounts with no protected seat are
left off; a bill with no line is not issued.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from contracts.tenancy import Plan
from services.billing.domain.money import ZERO, cents
from services.billing.domain.periods import Period
from services.billing.domain.pricebook import PriceBook


@dataclass(frozen=True)
class ServiceSeats:
    service: str | None  # None: a task whose service billing has not learned
    seats: int


@dataclass(frozen=True)
class AccountUsage:
    account_id: uuid.UUID
    account_name: str
    partner_id: uuid.UUID | None
    services: Sequence[ServiceSeats]
    active_days: int  # days of the period the account was subscribed

    @property
    def seats(self) -> int:
        return sum(s.seats for s in self.services)


@dataclass(frozen=True)
class LineItem:
    service: str | None
    seats: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InvoiceLine:
    account_id: uuid.UUID
    account_name: str
    partner_id: uuid.UUID | None
    plan: Plan
    seats: int
    days: int
    period_days: int
    items: tuple[LineItem, ...]

    @property
    def amount(self) -> Decimal:
        return sum((item.amount for item in self.items), ZERO)


@dataclass(frozen=True)
class Composition:
    currency: str
    period: Period
    lines: tuple[InvoiceLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


def prorated(seats: int, unit_price: Decimal, days: int, period_days: int) -> Decimal:
    """``seats x unit price x days / period days``, to the cent (half up)."""
    if days >= period_days:
        return cents(seats * unit_price)
    return cents(seats * unit_price * days / Decimal(period_days))


def _merged(services: Iterable[ServiceSeats]) -> list[ServiceSeats]:
    seats: dict[str | None, int] = {}
    for usage in services:
        seats[usage.service] = seats.get(usage.service, 0) + usage.seats
    return [ServiceSeats(service, count) for service, count in sorted(seats.items(), key=lambda i: i[0] or "~")
            if count > 0]


def compose_line(usage: AccountUsage, book: PriceBook, currency: str, plan: Plan, period: Period) -> InvoiceLine | None:
    services = _merged(usage.services)
    days = min(usage.active_days, period.days)
    if not services or days <= 0:
        return None
    items = []
    for service in services:
        unit = book.unit_price(currency, service.service, plan)
        amount = cents(service.seats * unit) if plan is Plan.ANNUAL else prorated(service.seats, unit, days,
                                                                                  period.days)
        items.append(LineItem(service.service, service.seats, unit, amount))
    return InvoiceLine(usage.account_id, usage.account_name, usage.partner_id, plan,
                       sum(s.seats for s in services), days, period.days, tuple(items))


def compose_consolidated(usages: Iterable[AccountUsage], book: PriceBook, currency: str,
                         period: Period) -> Composition:
    lines = [line for usage in usages
             if (line := compose_line(usage, book, currency, Plan.MONTHLY, period)) is not None]
    lines.sort(key=lambda line: (line.account_name.lower(), str(line.account_id)))
    return Composition(currency, period, tuple(lines))


def compose_annual(usage: AccountUsage, book: PriceBook, currency: str, term: Period) -> Composition:
    line = compose_line(usage, book, currency, Plan.ANNUAL, term)
    return Composition(currency, term, (line,) if line else ())
