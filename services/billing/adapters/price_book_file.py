"""The price book a service runs with: a YAML file, the one shipped beside this module unless
``BILLING_PRICE_BOOK`` names another (docs/billing.md)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from services.billing.domain.pricebook import PriceBook

DEFAULT_PRICE_BOOK = Path(__file__).with_name("price_book.yaml")
PRICE_BOOK_ENV = "BILLING_PRICE_BOOK"


def load_price_book(path: Path | str | None = None) -> PriceBook:
    """The price book at ``path``, ``$BILLING_PRICE_BOOK``, or the one shipped with the service."""
    source = Path(path or os.environ.get(PRICE_BOOK_ENV) or DEFAULT_PRICE_BOOK)
    return PriceBook.model_validate(yaml.safe_load(source.read_text()))
