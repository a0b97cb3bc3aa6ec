"""Money arithmetic: ``Decimal`` only, rounded half up to the cent at each priced item."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (0.005 → 0.01), the way an invoice shows it."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def whole(value: Decimal) -> int:
    """Round to a whole number, half up (seats)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount: Decimal, currency: str) -> str:
    """``1234.5, "USD"`` → ``"USD 1,234.50"``."""
    return f"{currency} {cents(amount):,.2f}"
