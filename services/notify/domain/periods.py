"""Report periods: which period a report covers, given the frequency and the moment. Pure domain code.

Periods are half-open UTC intervals ``[start, end)``: a day from midnight, a week from
Monday midnight, a month from the 1st. A report covers the last period that is *over*
at the moment the scheduler looks, so a scheduler that was down for a while still
sends the latest report when it comes back, and the ``report_runs`` claim keeps it to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.notify import Frequency


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """``2026-11-25``, or ``2026-11-16 to 2026-11-22`` for more than one day."""
        last_day = (self.end - timedelta(days=1)).date()
        if last_day == self.start.date():
            return self.start.date().isoformat()
        return f"{self.start.date().isoformat()} to {last_day.isoformat()}"


def _midnight(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _first_of_month(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def current_period(frequency: Frequency, moment: datetime) -> Period:
    """The period ``moment`` falls in."""
    if moment.tzinfo is None:
        raise ValueError("a naive moment has no place on the UTC calendar")
    day = _midnight(moment)
    if frequency is Frequency.DAILY:
        return Period(day, day + timedelta(days=1))
    if frequency is Frequency.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return Period(monday, monday + timedelta(days=7))
    start = _first_of_month(day)
    following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, following)


def last_complete_period(frequency: Frequency, moment: datetime) -> Period:
    """The latest period that has ended by ``moment`` (the one a report now covers)."""
    current = current_period(frequency, moment)
    return current_period(frequency, current.start - timedelta(microseconds=1))
