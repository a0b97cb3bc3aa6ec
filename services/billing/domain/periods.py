"""Billing periods and proration by days. Pure code: dates in, dates out (UTC calendar).

- A monthly period is a calendar month. The run on day D bills the month that ended
  before D (on the 1st: the month just ended).
- An annual term starts on the day the account subscribed and lasts a year; it is
  invoiced by the first run on or after its start, and renews on its anniversary.
- Proration counts days: a monthly account that starts or is removed inside a period
  pays ``active days / days in the period`` of it; both the first and the last day count.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

INVOICE_TERMS_DAYS = 30


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def month_of(day: date) -> Period:
    last = calendar.monthrange(day.year, day.month)[1]
    return Period(day.replace(day=1), day.replace(day=last))


def month_ended_before(as_of: date) -> Period:
    """The latest calendar month that ended before ``as_of``."""
    return month_of(as_of.replace(day=1) - timedelta(days=1))


def next_month_start(day: date) -> date:
    return month_of(day).end + timedelta(days=1)


def active_days(period: Period, started: date | None, ended: date | None) -> int:
    """Days of ``period`` between ``started`` and ``ended`` (both counted; None = open)."""
    first = max(period.start, started) if started else period.start
    last = min(period.end, ended) if ended else period.end
    return max(0, (last - first).days + 1)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def annual_term(subscribed: date, as_of: date) -> Period:
    """The annual term running on ``as_of`` (the first one before the subscription starts)."""
    years = 0
    while add_years(subscribed, years + 1) <= as_of:
        years += 1
    start = add_years(subscribed, years)
    return Period(start, add_years(subscribed, years + 1) - timedelta(days=1))


def renewal_date(plan_annual: bool, subscribed: date, today: date) -> date:
    """The next day a bill for the subscription is made: the next 1st, or the next anniversary."""
    if plan_annual:
        return annual_term(subscribed, today).end + timedelta(days=1)
    return next_month_start(max(today, subscribed))


def due_date(issue: date, terms_days: int = INVOICE_TERMS_DAYS) -> date:
    return issue + timedelta(days=terms_days)
