"""The payment processor behind an interface, and a real local one in test mode.

Billing never sees a card number: the client tokenises the card with the processor and
sends the token; billing keeps the token and the display data the processor describes
(brand, last four digits, expiry, fingerprint), and charges the token with an
idempotency key — the same key twice is one charge, answered the same way.

:class:`LocalTestProcessor` is the local test-mode processor (``testprocessor``), whose
hosted card form issues tokens for test card numbers, with its own durable store (a SQLite
file under ``var/``), so a charge repeated after a crash is recognised. Besides the form's
tokens it knows the fixed test tokens processors document:

- ``tok_visa``, ``tok_visa_debit``, ``tok_mastercard``, ``tok_amex``, ``tok_discover``:
  cards that charge successfully;
- ``tok_chargeDeclined``: a card that can be saved, whose charges are declined;
- ``tok_insufficientFunds``: a card that can be saved, whose charges fail for
  insufficient funds;
- ``tok_expiredCard``: refused when saved; any other token is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from testprocessor.store import KeyReused, ProcessorStore, UnknownToken


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    charge_id: str | None
    failure_code: str | None = None
    failure_message: str | None = None


class CardRejected(Exception):
    """The processor refuses the token (unknown, expired, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IdempotencyMismatch(Exception):
    """An idempotency key was reused for a different charge."""


class PaymentProcessor(Protocol):
    name: str

    def describe_card(self, token: str) -> CardDetails:
        """The display data of a tokenised card; raises :class:`CardRejected`."""

    def charge(self, token: str, amount: Decimal, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        """Charge ``amount`` once per ``idempotency_key``; a decline is a result, not an error."""


class LocalTestProcessor:
    """The local test-mode processor (:mod:`testprocessor`), through its store in ``path``.

    Its hosted card form issues the tokens; this adapter describes and charges them, as a
    real processor's API would, and speaks billing's types.
    """

    name = ProcessorStore.name

    def __init__(self, path: Path | str) -> None:
        self.store = ProcessorStore(path)

    def describe_card(self, token: str) -> CardDetails:
        try:
            card = self.store.card(token)
        except UnknownToken:
            raise CardRejected("invalid_token", "No such token: use a token from the payment form.") from None
        if card.profile.save_failure:
            raise CardRejected(*card.profile.save_failure)
        return CardDetails(card.brand, card.last4, card.exp_month, card.exp_year, card.fingerprint)

    def charge(self, token: str, amount: Decimal, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        try:
            charged = self.store.charge(token, amount, currency, idempotency_key)
        except KeyReused as reused:
            raise IdempotencyMismatch(str(reused)) from None
        return ChargeResult(charged.succeeded, charged.charge_id, charged.failure_code, charged.failure_message)

    def charges(self) -> int:
        return self.store.charges()
