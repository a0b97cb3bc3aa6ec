"""The payment processor behind an interface, and a real local one in test mode.

Billing never sees a card number: the client tokenises the card with the processor and
sends the token; billing keeps the token and the display data the processor describes
(brand, last four digits, expiry, fingerprint), and charges the token with an
idempotency key — the same key twice is one charge, answered the same way.

:class:`LocalTestProcessor` behaves like a processor's test mode, with its own durable
store (a SQLite file under ``var/``), so a charge repeated after a crash is recognised:

- ``tok_visa``, ``tok_visa_debit``, ``tok_mastercard``, ``tok_amex``, ``tok_discover``:
  cards that charge successfully;
- ``tok_chargeDeclined``: a card that can be saved, whose charges are declined;
- ``tok_insufficientFunds``: a card that can be saved, whose charges fail for
  insufficient funds;
- ``tok_expiredCard``: refused when saved; any other token is unknown.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol


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


@dataclass(frozen=True)
class _TestCard:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    charge_failure: tuple[str, str] | None = None
    save_failure: tuple[str, str] | None = None


TEST_CARDS: dict[str, _TestCard] = {
    "tok_visa": _TestCard("Visa", "4242", 12, 2034),
    "tok_visa_debit": _TestCard("Visa", "5556", 6, 2033),
    "tok_mastercard": _TestCard("Mastercard", "4444", 3, 2035),
    "tok_amex": _TestCard("American Express", "8431", 9, 2034),
    "tok_discover": _TestCard("Discover", "1117", 1, 2036),
    "tok_chargeDeclined": _TestCard("Visa", "0002", 12, 2034,
                                    charge_failure=("card_declined", "Your card was declined.")),
    "tok_insufficientFunds": _TestCard("Visa", "9995", 12, 2034,
                                       charge_failure=("insufficient_funds", "Your card has insufficient funds.")),
    "tok_expiredCard": _TestCard("Visa", "0069", 1, 2020, save_failure=("expired_card", "Your card has expired.")),
}


class LocalTestProcessor:
    """A processor in test mode, on this machine; charges persist in ``path``."""

    name = "local_test"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS charges (idempotency_key TEXT PRIMARY KEY, request TEXT NOT NULL, "
                "result TEXT NOT NULL, created_at TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def _card(self, token: str) -> _TestCard:
        card = TEST_CARDS.get(token)
        if card is None:
            raise CardRejected("invalid_token", "No such token: use a token from the payment form.")
        return card

    def describe_card(self, token: str) -> CardDetails:
        card = self._card(token)
        if card.save_failure:
            raise CardRejected(*card.save_failure)
        fingerprint = hashlib.sha256(f"{self.name}:{card.brand}:{card.last4}:{token}".encode()).hexdigest()[:24]
        return CardDetails(card.brand, card.last4, card.exp_month, card.exp_year, fingerprint)

    def charge(self, token: str, amount: Decimal, currency: str, idempotency_key: str,
               description: str) -> ChargeResult:
        request = json.dumps({"token": token, "amount": str(amount), "currency": currency})
        with self._lock, self._connect() as connection:
            row = connection.execute("SELECT request, result FROM charges WHERE idempotency_key = ?",
                                     (idempotency_key,)).fetchone()
            if row is not None:
                if row[0] != request:
                    raise IdempotencyMismatch("this idempotency key was used for another charge")
                return ChargeResult(**json.loads(row[1]))
            result = self._decide(token, amount)
            connection.execute("INSERT INTO charges VALUES (?, ?, ?, ?)",
                               (idempotency_key, request, json.dumps(asdict(result)), datetime.now(UTC).isoformat()))
            return result

    def _decide(self, token: str, amount: Decimal) -> ChargeResult:
        try:
            card = self._card(token)
        except CardRejected as rejected:
            return ChargeResult(False, None, rejected.code, rejected.message)
        if amount <= 0:
            return ChargeResult(False, None, "invalid_amount", "The amount must be positive.")
        if card.charge_failure:
            return ChargeResult(False, f"ch_{uuid.uuid4().hex[:24]}", *card.charge_failure)
        return ChargeResult(True, f"ch_{uuid.uuid4().hex[:24]}")

    def charges(self) -> int:
        with self._connect() as connection:
            return int(connection.execute("SELECT count(*) FROM charges").fetchone()[0])
