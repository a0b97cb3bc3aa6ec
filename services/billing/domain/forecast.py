"""The next-payment forecast. Pure code.

Method: an ordinary least-squares line ``seats = a + b·day`` through the account's last
``N`` daily protected-seat totals (default 30 days; a day without a backup run carries the
previous day's total forward). The forecast seats are the line's value on the day the
next bill is made, rounded half up and never below zero — and, for a monthly bill, never
below the peak already reached in the running period (the bill charges the peak). The
forecast amount is those seats x the account's unit price (its current mix of services:
``Σ seats x price / Σ seats``), prorated like the bill itself when the account started
inside the period. With one day of data the line is flat; with none there is no forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from services.billing.domain.money import cents, whole

DEFAULT_WINDOW_DAYS = 30


def least_squares(values: Sequence[float | int | Decimal]) -> tuple[Decimal, Decimal]:
    """``(a, b)`` of the line ``a + b·t`` closest to ``values`` at t = 0, 1, 2, … (exact Decimals)."""
    n = len(values)
    if n == 0:
        raise ValueError("no data")
    ys = [Decimal(str(v)) for v in values]
    if n == 1:
        return ys[0], Decimal(0)
    mean_t = Decimal(n - 1) / 2
    mean_y = sum(ys, Decimal(0)) / n
    covariance = sum(((Decimal(t) - mean_t) * (y - mean_y) for t, y in enumerate(ys)), Decimal(0))
    variance = sum(((Decimal(t) - mean_t) ** 2 for t in range(n)), Decimal(0))
    slope = covariance / variance
    return mean_y - slope * mean_t, slope


def forecast_seats(daily_seats: Sequence[int], days_ahead: int, floor: int = 0) -> int | None:
    """Seats on the day ``days_ahead`` after the last value of ``daily_seats``."""
    if not daily_seats:
        return None
    intercept, slope = least_squares(daily_seats)
    value = intercept + slope * (len(daily_seats) - 1 + days_ahead)
    return max(0, floor, whole(value))


def blended_unit_price(seats_by_price: Sequence[tuple[int, Decimal]], fallback: Decimal) -> Decimal:
    """Σ seats x price / Σ seats; ``fallback`` when nothing is protected."""
    seats = sum(count for count, _ in seats_by_price)
    if seats == 0:
        return fallback
    return sum((count * price for count, price in seats_by_price), Decimal(0)) / seats


def forecast_amount(seats: int, unit_price: Decimal, days: int = 1, period_days: int = 1) -> Decimal:
    return cents(seats * unit_price * Decimal(days) / Decimal(period_days))
