"""The processor's durable store (a SQLite file): the tokens it issued and the charges it made.

Two kinds of token describe a card:

- the fixed test tokens processors document for API-only tests (``tok_visa``,
  ``tok_chargeDeclined``, ...: :data:`FIXED_TOKENS`);
- a token the hosted card form issues for a test card number typed into it
  (``tok_`` and 24 random hex digits), kept here with the card's display data only.

A charge is recorded under its idempotency key: the same key twice is one charge,
answered the same way, even after a restart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from testprocessor.cards import DECLINED, EXPIRED, INSUFFICIENT_FUNDS, CardEntry, CardProfile


@dataclass(frozen=True)
class StoredCard:
    """What the processor tells about a token: display data, a fingerprint and the test behaviour."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    profile: CardProfile


@dataclass(frozen=True)
class Charge:
    succeeded: bool
    charge_id: str | None
    failure_code: str | None = None
    failure_message: str | None = None


class UnknownToken(Exception):
    """No card has this token."""


class KeyReused(Exception):
    """An idempotency key was reused for a different charge."""


def _fixed(brand: str, last4: str, exp_month: int, exp_year: int, **failures: tuple[str, str]) -> StoredCard:
    return StoredCard(brand, last4, exp_month, exp_year, "", CardProfile(brand, **failures))


FIXED_TOKENS: dict[str, StoredCard] = {
    "tok_visa": _fixed("Visa", "4242", 12, 2034),
    "tok_visa_debit": _fixed("Visa", "5556", 6, 2033),
    "tok_mastercard": _fixed("Mastercard", "4444", 3, 2035),
    "tok_amex": _fixed("American Express", "8431", 9, 2034),
    "tok_discover": _fixed("Discover", "1117", 1, 2036),
    "tok_chargeDeclined": _fixed("Visa", "0002", 12, 2034, charge_failure=DECLINED),
    "tok_insufficientFunds": _fixed("Visa", "9995", 12, 2034, charge_failure=INSUFFICIENT_FUNDS),
    "tok_expiredCard": _fixed("Visa", "0069", 1, 2020, save_failure=EXPIRED),
}


class ProcessorStore:
    """Tokens and charges of the local processor, in ``path`` (shared by its form and its API)."""

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
            connection.execute(
                "CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, brand TEXT NOT NULL, last4 TEXT NOT NULL, "
                "exp_month INTEGER NOT NULL, exp_year INTEGER NOT NULL, fingerprint TEXT NOT NULL, "
                "charge_failure TEXT, save_failure TEXT, created_at TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    # ---- tokens -------------------------------------------------------------------------------------

    def tokenise(self, entry: CardEntry) -> str:
        """A new token for a checked card entry; the number itself is not kept, only its fingerprint."""
        token = f"tok_{secrets.token_hex(12)}"
        fingerprint = hashlib.sha256(f"{self.name}:card:{entry.number}".encode()).hexdigest()[:24]
        profile = entry.profile
        with self._lock, self._connect() as connection:
            connection.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (token, profile.brand, entry.last4, entry.exp_month, entry.exp_year, fingerprint,
                 json.dumps(profile.charge_failure) if profile.charge_failure else None,
                 json.dumps(profile.save_failure) if profile.save_failure else None,
                 datetime.now(UTC).isoformat()),
            )
        return token

    def card(self, token: str) -> StoredCard:
        fixed = FIXED_TOKENS.get(token)
        if fixed is not None:
            fingerprint = hashlib.sha256(f"{self.name}:{fixed.brand}:{fixed.last4}:{token}".encode()).hexdigest()[:24]
            return StoredCard(fixed.brand, fixed.last4, fixed.exp_month, fixed.exp_year, fingerprint, fixed.profile)
        with self._connect() as connection:
            row = connection.execute(
                "SELECT brand, last4, exp_month, exp_year, fingerprint, charge_failure, save_failure "
                "FROM tokens WHERE token = ?", (token,)).fetchone()
        if row is None:
            raise UnknownToken(token)
        brand, last4, exp_month, exp_year, fingerprint, charge_failure, save_failure = row
        profile = CardProfile(brand, tuple(json.loads(charge_failure)) if charge_failure else None,
                              tuple(json.loads(save_failure)) if save_failure else None)
        return StoredCard(brand, last4, int(exp_month), int(exp_year), fingerprint, profile)

    # ---- charges ------------------------------------------------------------------------------------

    def charge(self, token: str, amount: Decimal, currency: str, idempotency_key: str) -> Charge:
        request = json.dumps({"token": token, "amount": str(amount), "currency": currency})
        with self._lock, self._connect() as connection:
            row = connection.execute("SELECT request, result FROM charges WHERE idempotency_key = ?",
                                     (idempotency_key,)).fetchone()
            if row is not None:
                if row[0] != request:
                    raise KeyReused("this idempotency key was used for another charge")
                return Charge(**json.loads(row[1]))
            result = self._decide(token, amount)
            connection.execute("INSERT INTO charges VALUES (?, ?, ?, ?)",
                               (idempotency_key, request, json.dumps(result.__dict__), datetime.now(UTC).isoformat()))
            return result

    def _decide(self, token: str, amount: Decimal) -> Charge:
        try:
            card = self.card(token)
        except UnknownToken:
            return Charge(False, None, "invalid_token", "No such token: use a token from the payment form.")
        if amount <= 0:
            return Charge(False, None, "invalid_amount", "The amount must be positive.")
        if card.profile.charge_failure:
            return Charge(False, f"ch_{uuid.uuid4().hex[:24]}", *card.profile.charge_failure)
        return Charge(True, f"ch_{uuid.uuid4().hex[:24]}")

    def charges(self) -> int:
        with self._connect() as connection:
            return int(connection.execute("SELECT count(*) FROM charges").fetchone()[0])
