"""When a password expiry reminder is due (services/notify/domain/password_reminders.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.password_reminders import days_left, reminder_threshold

NOW = datetime(2026, 11, 26, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(("left", "threshold"), [(timedelta(days=8), None), (timedelta(days=7), 7),
                                                 (timedelta(days=2), 7), (timedelta(hours=20), 1),
                                                 (timedelta(seconds=-1), None)])
def test_the_reminder_due_is_the_smallest_threshold_reached(left, threshold):
    assert reminder_threshold(NOW + left, NOW, (7, 1)) == threshold


@pytest.mark.parametrize(("left", "days"), [(timedelta(days=5), 5), (timedelta(days=4, hours=1), 5),
                                            (timedelta(minutes=1), 1)])
def test_a_started_day_counts_as_a_day_left(left, days):
    assert days_left(NOW + left, NOW) == days
