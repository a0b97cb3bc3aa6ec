"""The price book as data: per currency, per backup service, per protected seat per month;
annual = 12 months less a configurable discount. Pure code; the shipped book and its loading
are adapters/price_book_file.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.errors import ValidationFailed
from contracts.tenancy import BackupService, Plan
from services.billing.domain.money import cents

MONTHS_PER_YEAR = 12

Price = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=4)]


class CurrencyPrices(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Price
    bank_transfer_over: Price
    services: dict[BackupService, Price] = Field(default_factory=dict)


class PriceBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    annual_discount_percent: Annotated[Decimal, Field(ge=0, lt=100)] = Decimal(0)
    default_currency: str = "USD"
    currencies: dict[str, CurrencyPrices]

    @field_validator("currencies")
    @classmethod
    def _iso_codes(cls, value: dict[str, CurrencyPrices]) -> dict[str, CurrencyPrices]:
        for code in value:
            if len(code) != 3 or not code.isalpha() or not code.isupper():
                raise ValueError(f"currency {code!r} is not an ISO 4217 code")
        if not value:
            raise ValueError("the price book needs at least one currency")
        return value

    def prices(self, currency: str) -> CurrencyPrices:
        try:
            return self.currencies[currency]
        except KeyError:
            raise ValidationFailed.for_field(
                "currency", f"must be one of {', '.join(sorted(self.currencies))}"
            ) from None

    def monthly_price(self, currency: str, service: str | None) -> Decimal:
        """One protected seat of ``service`` for one month."""
        prices = self.prices(currency)
        try:
            return prices.services.get(BackupService(service), prices.default) if service else prices.default
        except ValueError:  # a service this price book does not know
            return prices.default

    def annual_price(self, currency: str, service: str | None) -> Decimal:
        """One protected seat for a year: 12 months less the discount, to the cent."""
        monthly = self.monthly_price(currency, service)
        factor = (Decimal(100) - self.annual_discount_percent) / Decimal(100)
        return cents(monthly * MONTHS_PER_YEAR * factor)

    def unit_price(self, currency: str, service: str | None, plan: Plan) -> Decimal:
        return self.annual_price(currency, service) if plan is Plan.ANNUAL else self.monthly_price(currency, service)

    def bank_transfer_allowed(self, currency: str, amount: Decimal) -> bool:
        return amount > self.prices(currency).bank_transfer_over
