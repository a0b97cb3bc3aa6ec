"""Which period a scheduled report covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.notify import Frequency
from services.notify.domain.periods import Period, current_period, last_complete_period


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_daily_report_covers_yesterday():
    period = last_complete_period(Frequency.DAILY, at(2026, 11, 26, 0, 5))

    assert period == Period(at(2026, 11, 25), at(2026, 11, 26))
    assert period.label == "2026-11-25"


def test_a_weekly_report_covers_the_last_monday_to_monday_week():
    # Thursday 26 Nov 2026: the last complete week is Mon 16 to Mon 23.
    period = last_complete_period(Frequency.WEEKLY, at(2026, 11, 26, 13))

    assert period == Period(at(2026, 11, 16), at(2026, 11, 23))
    assert period.label == "2026-11-16 to 2026-11-22"


def test_a_monthly_report_covers_the_last_calendar_month_across_a_year_end():
    assert last_complete_period(Frequency.MONTHLY, at(2027, 1, 3)) == Period(at(2026, 12, 1), at(2027, 1, 1))
    assert last_complete_period(Frequency.MONTHLY, at(2026, 3, 1)) == Period(at(2026, 2, 1), at(2026, 3, 1))


@pytest.mark.parametrize("frequency", list(Frequency))
def test_every_moment_of_a_period_reports_the_same_previous_period(frequency):
    current = current_period(frequency, at(2026, 11, 26, 12))
    first = last_complete_period(frequency, current.start)
    last = last_complete_period(frequency, current.end - timedelta(microseconds=1))

    assert first == last and first.end == current.start


def test_a_moment_in_another_time_zone_is_placed_on_the_utc_calendar():
    tokyo = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))

    assert current_period(Frequency.DAILY, tokyo).start == at(2026, 11, 26)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="naive"):
        current_period(Frequency.DAILY, datetime(2026, 11, 26))
