"""Test card numbers, as processors publish them for test mode, and the checks of a card entry.

Test mode takes only these numbers (a real card number is refused: nothing real is ever
charged here). Each number behaves like the processor's fixed test token of the same
profile in :mod:`testprocessor.store`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CardProfile:
    """How a test card behaves: its brand, and the failures it causes when saved or charged."""

    brand: str
    charge_failure: tuple[str, str] | None = None
    save_failure: tuple[str, str] | None = None


DECLINED = ("card_declined", "Your card was declined.")
INSUFFICIENT_FUNDS = ("insufficient_funds", "Your card has insufficient funds.")
EXPIRED = ("expired_card", "Your card has expired.")

TEST_NUMBERS: dict[str, CardProfile] = {
    "4242424242424242": CardProfile("Visa"),
    "4000056655665556": CardProfile("Visa"),  # a debit card
    "5555555555554444": CardProfile("Mastercard"),
    "378282246310005": CardProfile("American Express"),
    "6011111111111117": CardProfile("Discover"),
    "4000000000000002": CardProfile("Visa", charge_failure=DECLINED),
    "4000000000009995": CardProfile("Visa", charge_failure=INSUFFICIENT_FUNDS),
    "4000000000000069": CardProfile("Visa", save_failure=EXPIRED),
}


@dataclass(frozen=True)
class CardEntry:
    """A card as typed into the form, checked: digits only, expiry as month and four-digit year."""

    number: str
    exp_month: int
    exp_year: int
    profile: CardProfile

    @property
    def last4(self) -> str:
        return self.number[-4:]


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def check_entry(number: str, expiry: str, cvc: str, name: str, today: date) -> tuple[CardEntry | None, dict[str, str]]:
    """The entry, or the reason for each field that is wrong (the form shows them beside the fields)."""
    errors: dict[str, str] = {}
    digits = re.sub(r"[\s-]", "", number)
    if not re.fullmatch(r"[0-9]{12,19}", digits) or not luhn_valid(digits):
        errors["number"] = "Enter a valid card number."
    elif digits not in TEST_NUMBERS:
        errors["number"] = "Test mode takes only test card numbers, such as 4242 4242 4242 4242."
    month = year = 0
    match = re.fullmatch(r"\s*([0-9]{1,2})\s*/\s*([0-9]{2}|[0-9]{4})\s*", expiry)
    if match is None or not 1 <= int(match.group(1)) <= 12:
        errors["expiry"] = "Enter the expiry as MM / YY."
    else:
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        if (year, month) < (today.year, today.month):
            errors["expiry"] = "This card has expired."
        elif year > today.year + 20:
            errors["expiry"] = "Enter the expiry as MM / YY."
    if not re.fullmatch(r"[0-9]{3,4}", cvc.strip()):
        errors["cvc"] = "Enter the 3 or 4 digits on the card."
    if not name.strip():
        errors["name"] = "Enter the name on the card."
    elif len(name) > 100:
        errors["name"] = "The name is too long."
    if errors:
        return None, errors
    return CardEntry(digits, month, year, TEST_NUMBERS[digits]), {}
