"""Human reference numbers: ``INV-2026-000123``, gap-free per year.

The number comes from a counter row per year, incremented in the transaction that
issues the invoice: a rolled-back issue gives its number back, two issuers queue on the
row, so the numbers of a year run 1, 2, 3, … with no gap and no repeat.
"""

from __future__ import annotations

import re

PREFIX = "INV"
_REFERENCE = re.compile(r"^INV-(\d{4})-(\d{6,})$")


def format_reference(year: int, number: int) -> str:
    if number < 1:
        raise ValueError("reference numbers start at 1")
    return f"{PREFIX}-{year:04d}-{number:06d}"


def parse_reference(reference: str) -> tuple[int, int] | None:
    match = _REFERENCE.match(reference)
    return (int(match.group(1)), int(match.group(2))) if match else None
