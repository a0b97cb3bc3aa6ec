"""billing: billing method and details, card tokens, prices, usage, invoices, payments."""

from __future__ import annotations

from pathlib import Path

from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.logging import configure_logging

configure_logging("billing")


class BillingService(ServiceBase):
    name = "billing"

    db = Database(Path(__file__).parent / "migrations")
