"""billing's RPC methods as the gateway calls them: typed arguments, typed replies.

Written once from the service's entry points (services/billing/entrypoints.py) and the contract
models; keep it in step with both by hand. Every call carries the request's correlation id
and caller, and a deadline (gateway.rpc).
"""

from __future__ import annotations

import uuid

from contracts.billing import (
    BillingDetailsView,
    BillingFactsReply,
    BillingMethodView,
    BillingRunReply,
    CardList,
    CardView,
    DocumentReply,
    HistoryPage,
    PaymentView,
)
from gateway.clients.base import ServiceClient, Wire, as_text, trailing
from gateway.rpc import Call


class BillingClient(ServiceClient):
    service = "billing"

    def activate_card(
        self, card_id: uuid.UUID | str, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> CardView:
        reply = self._call("activate_card", as_text(card_id), *trailing(distributor_id), timeout=timeout)
        return CardView.from_wire(reply)

    def add_card(
        self, request: Wire, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> CardView:
        return CardView.from_wire(self._call("add_card", request, *trailing(distributor_id), timeout=timeout))

    def announce_billing_facts(self, request: Wire, *, timeout: float | None = None) -> BillingFactsReply:
        return BillingFactsReply.from_wire(self._call("announce_billing_facts", request, timeout=timeout))

    def billing_history(self, query: Wire | None = None, *, timeout: float | None = None) -> HistoryPage:
        return HistoryPage.from_wire(self._call("billing_history", query, timeout=timeout))

    def delete_card(
        self, card_id: uuid.UUID | str, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> None:
        self._call("delete_card", as_text(card_id), *trailing(distributor_id), timeout=timeout)

    def get_billing_details(
        self, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> BillingDetailsView:
        reply = self._call("get_billing_details", *trailing(distributor_id), timeout=timeout)
        return BillingDetailsView.from_wire(reply)

    def get_billing_method(
        self, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> BillingMethodView:
        return BillingMethodView.from_wire(self._call("get_billing_method", *trailing(distributor_id), timeout=timeout))

    def invoice_document(self, request: Wire, *, timeout: float | None = None) -> DocumentReply:
        return DocumentReply.from_wire(self._call("invoice_document", request, timeout=timeout))

    def list_cards(self, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None) -> CardList:
        return CardList.from_wire(self._call("list_cards", *trailing(distributor_id), timeout=timeout))

    def pay_invoice(self, reference: str, request: Wire | None = None, *, timeout: float | None = None) -> PaymentView:
        return PaymentView.from_wire(self._call("pay_invoice", reference, request, timeout=timeout))

    def record_payment(self, request: Wire, *, timeout: float | None = None) -> PaymentView:
        return PaymentView.from_wire(self._call("record_payment", request, timeout=timeout))

    def run_billing(self, request: Wire, *, timeout: float | None = None) -> BillingRunReply:
        return BillingRunReply.from_wire(self._call("run_billing", request, timeout=timeout))

    def set_billing_details(self, request: Wire, *, timeout: float | None = None) -> BillingDetailsView:
        return BillingDetailsView.from_wire(self._call("set_billing_details", request, timeout=timeout))

    def set_billing_method(self, request: Wire, *, timeout: float | None = None) -> BillingMethodView:
        return BillingMethodView.from_wire(self._call("set_billing_method", request, timeout=timeout))

    # Fan-out form (``rpc.call_many``): Billing ▸ Status is composed with tenancy's names and
    # keeps billing's rows when tenancy does not answer.

    def billing_status_call(self, query: Wire) -> Call:
        return self.fan_out("billing_status", query)
