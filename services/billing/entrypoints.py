"""billing: billing method and details, card tokens, prices, usage, invoices, payments.

Entrypoints only: parse the wire input, call a use case, return the wire output. Only a
distributor's users (with "view billing") and operators get answers (services/billing/usecases/access.py).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from contracts.billing import (
    AccountAmountRequest,
    BillingDetails,
    BillingFactsRequest,
    BillingFilterRequest,
    BillingMethodRequest,
    BillingRunRequest,
    CardAddRequest,
    DocumentRequest,
    HistoryQuery,
    OwnerPageRequest,
    PayInvoiceRequest,
    RecordPaymentRequest,
    RollupQuery,
    StatusQuery,
)
from contracts.envelope import EventEnvelope
from contracts.errors import ValidationFailed
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging
from servicekit.rpc import rpc
from servicekit.subscriptions import On, subscribe
from servicekit.timers import every
from servicekit.validation import parse
from services.billing.adapters.price_book_file import load_price_book
from services.billing.adapters.processor import LocalTestProcessor, PaymentProcessor
from services.billing.adapters.run_metrics import billing_run_outcomes
from services.billing.domain.pricebook import PriceBook
from services.billing.settings import BillingSettings
from services.billing.usecases import billing_facts, payments, profiles, projection, queries
from services.billing.usecases import billing_run as runs
from services.billing.usecases.access import billing_scope, require_operator

configure_logging("billing")


@functools.lru_cache(maxsize=4)
def _local_processor(path: Path) -> LocalTestProcessor:
    return LocalTestProcessor(path)


@functools.lru_cache(maxsize=4)
def _price_book(path: Path | None) -> PriceBook:
    return load_price_book(path)


def _project(service: Any, envelope: EventEnvelope) -> None:
    projection.apply(service.db, envelope)


# Tenancy's facts billing keeps its own copy of (usecases/projection.py): one handler (one
# queue, evt-tenancy-<type>--billing.on_<type>) per type, bound before tenancy publishes.
EVENT_HANDLERS = {event: On(_project) for event in projection.PROJECTED_EVENTS}


def _today(value: date | None = None) -> date:
    return value or datetime.now(UTC).date()


@subscribe(EVENT_HANDLERS)
class BillingService(ServiceBase):
    name = "billing"

    db = Database(Path(__file__).parent / "adapters" / "migrations")
    run_metrics = billing_run_outcomes()

    @property
    def settings(self) -> BillingSettings:
        return BillingSettings()

    @property
    def book(self) -> PriceBook:
        return _price_book(self.settings.price_book)

    @property
    def processor(self) -> PaymentProcessor:
        return _local_processor(self.settings.processor_path())

    def _scope(self, distributor_id: Any = None) -> Any:
        return billing_scope(self.context, parse_uuid(distributor_id, "distributor_id") if distributor_id else None)

    # ---- billing method and details ---------------------------------------------------------------

    @rpc
    def get_billing_method(self, distributor_id: str | None = None) -> dict[str, Any]:
        return profiles.get_method(self.db, self._scope(distributor_id)).to_wire()

    @rpc
    def set_billing_method(self, request: dict[str, Any]) -> dict[str, Any]:
        parsed = parse(BillingMethodRequest, request)
        return profiles.choose_method(self.db, self._scope(parsed.distributor_id), parsed.method).to_wire()

    @rpc
    def get_billing_details(self, distributor_id: str | None = None) -> dict[str, Any]:
        return profiles.get_details(self.db, self._scope(distributor_id)).to_wire()

    @rpc
    def set_billing_details(self, request: dict[str, Any]) -> dict[str, Any]:
        parsed = parse(BillingDetails, request)
        return profiles.set_details(self.db, self._scope(parsed.distributor_id), parsed, self.book).to_wire()

    # ---- cards ----------------------------------------------------------------------------------------

    @rpc
    def list_cards(self, distributor_id: str | None = None) -> dict[str, Any]:
        return profiles.list_cards(self.db, self._scope(distributor_id)).to_wire()

    @rpc
    def add_card(self, request: dict[str, Any], distributor_id: str | None = None) -> dict[str, Any]:
        parsed = parse(CardAddRequest, request)
        return profiles.add_card(self.db, self._scope(distributor_id), parsed, self.processor).to_wire()

    @rpc
    def activate_card(self, card_id: str, distributor_id: str | None = None) -> dict[str, Any]:
        return profiles.activate_card(self.db, self._scope(distributor_id), parse_uuid(card_id, "id")).to_wire()

    @rpc
    def delete_card(self, card_id: str, distributor_id: str | None = None) -> None:
        profiles.delete_card(self.db, self._scope(distributor_id), parse_uuid(card_id, "id"))

    # ---- status, roll-ups, history, documents -----------------------------------------------------------

    @rpc
    def billing_status(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        parsed = parse(StatusQuery, query or {})
        return queries.account_status_page(self.db, self._scope(parsed.distributor_id), parsed, self.book,
                                           _today(parsed.as_of)).to_wire()

    @rpc
    def billing_rollups(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        parsed = parse(RollupQuery, query or {})
        return queries.rollups(self.db, self._scope(parsed.distributor_id), parsed, _today(parsed.as_of)).to_wire()

    @rpc
    def billing_filter(self, request: dict[str, Any]) -> dict[str, Any]:
        parsed = parse(BillingFilterRequest, request)
        return queries.billing_filter(self.db, self._scope(parsed.distributor_id), parsed,
                                      _today(parsed.as_of)).to_wire()

    @rpc
    def billing_owner_page(self, request: dict[str, Any]) -> dict[str, Any]:
        """The dashboard by amount: tenancy's candidate partners ordered and paged by what they owe."""
        parsed = parse(OwnerPageRequest, request)
        return queries.owner_page(self.db, self._scope(parsed.distributor_id), parsed, _today(parsed.as_of)).to_wire()

    @rpc
    def billing_account_amounts(self, request: dict[str, Any]) -> dict[str, Any]:
        """Status and amount due of given accounts (a drill-down page), or ordered and paged by amount."""
        parsed = parse(AccountAmountRequest, request)
        return queries.account_amounts(self.db, self._scope(parsed.distributor_id), parsed,
                                       _today(parsed.as_of)).to_wire()

    @rpc
    def billing_history(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        parsed = parse(HistoryQuery, query or {})
        return queries.history(self.db, self._scope(parsed.distributor_id), parsed).to_wire()

    @rpc
    def invoice_document(self, request: dict[str, Any]) -> dict[str, Any]:
        parsed = parse(DocumentRequest, request)
        return queries.invoice_document(self.db, self._scope(parsed.distributor_id), parsed.reference,
                                        parsed.format).to_wire()

    # ---- payments and billing runs -------------------------------------------------------------------------

    @rpc
    def pay_invoice(self, reference: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
        parsed = parse(PayInvoiceRequest, request or {})
        if not isinstance(reference, str) or len(reference) > 30:
            raise ValidationFailed.for_field("reference", "is not an invoice reference")
        return payments.pay_invoice(self.db, self._scope(parsed.distributor_id), reference, parsed.card_id,
                                    self.processor).to_wire()

    @rpc
    def record_payment(self, request: dict[str, Any]) -> dict[str, Any]:
        require_operator(self.context)
        parsed = parse(RecordPaymentRequest, request)
        return payments.record_payment(self.db, self.context.caller.user_id, parsed, self.book).to_wire()

    @rpc
    def run_billing(self, request: dict[str, Any]) -> dict[str, Any]:
        require_operator(self.context)
        parsed = parse(BillingRunRequest, request)
        return runs.run_billing(self.db, parsed.as_of, self.book, self.processor, parsed.distributor_id).to_wire()

    @rpc
    def announce_billing_facts(self, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every billed account's facts announced again (account_billing_changed), for readers
        that lost or never had them (operators)."""
        require_operator(self.context)
        return billing_facts.announce_billing_facts(self.db, parse(BillingFactsRequest, request or {})).to_wire()

    @every(lambda: BillingSettings().clock_seconds)
    def billing_clock(self) -> None:
        """Today's snapshots, the bills of ended periods, due card charges (all idempotent)."""
        runs.clock_tick(self.db, self.book, self.processor, datetime.now(UTC))
