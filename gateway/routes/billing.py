"""Billing of the caller's distributor (docs/billing.md): method, status, history, documents,
billing details and cards. Only a distributor sees money: the gateway asks for the "view
billing" permission, and the billing service refuses partner and customer users itself."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel

from contracts.billing import (
    AccountBillingPage,
    AccountBillingRow,
    BillingDetails,
    BillingDetailsView,
    BillingMethodView,
    BillingStatus,
    CardAddRequest,
    CardList,
    CardView,
    DocumentFormat,
    HistoryPage,
    HistorySort,
    PaymentView,
    StatusSort,
)
from contracts.dates import SaneDate
from contracts.errors import NotFound
from contracts.vocabulary import Permission
from gateway.auth import require_permission
from gateway.bodies import MethodBody
from gateway.compose.billing_status import billing_status_page
from gateway.deps import Rpc

router = APIRouter(prefix="/billing", tags=["billing"],
                   dependencies=[Depends(require_permission(Permission.VIEW_BILLING))])

Reference = Annotated[str, Path(pattern=r"^INV-[0-9]{4}-[0-9]{6,}$", description="e.g. INV-2026-000123")]
Page = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=200)]


class PayBody(BaseModel):
    card_id: uuid.UUID | None = None


def _own(model: BaseModel) -> dict[str, Any]:
    """A request for the caller's own distributor: the operators' ``distributor_id`` goes."""
    wire = model.model_dump(mode="json")
    wire.pop("distributor_id", None)
    return wire


@router.get("/method", response_model=BillingMethodView, summary="The monthly billing method (null until chosen)")
def get_method(rpc: Rpc) -> BillingMethodView:
    return rpc.billing.get_billing_method()


@router.put("/method", response_model=BillingMethodView,
            summary="Choose the monthly billing method, once: credit card or invoice (Support switches it later)")
def set_method(body: MethodBody, rpc: Rpc) -> BillingMethodView:
    return rpc.billing.set_billing_method({"method": body.method.value})


@router.get("/status", response_model=AccountBillingPage, summary="Billing status per account")
def billing_status(
    rpc: Rpc,
    partner_id: uuid.UUID | None = None,
    direct: bool = False,
    billing_status: BillingStatus | None = None,
    as_of: Annotated[SaneDate | None, Query(description="judge Due/Overdue on this day (default today); "
                                                         "2000-01-01..2100-12-31")] = None,
    sort: Annotated[StatusSort, Query(description="account name, billing status or amount due; `-` descending")]
    = "name",
    page: Page = 1,
    page_size: PageSize = 25,
) -> AccountBillingPage:
    query = {"partner_id": str(partner_id) if partner_id else None, "direct": direct,
             "billing_status": billing_status.value if billing_status else None,
             "as_of": as_of.isoformat() if as_of else None, "sort": sort, "page": page, "page_size": page_size}
    return billing_status_page(rpc, query, partner_id)


@router.get("/accounts/{account_id}", response_model=AccountBillingRow,
            summary="One account's billing summary: status, subscription, renewal date, amount due, forecast",
            responses={404: {"description": "`not_found`: no such account among yours"}})
def account_billing(account_id: uuid.UUID, rpc: Rpc,
                    as_of: Annotated[SaneDate | None, Query(description="judge Due/Overdue on this day")] = None,
                    ) -> AccountBillingRow:
    query = {"account_ids": [str(account_id)], "as_of": as_of.isoformat() if as_of else None, "page_size": 1}
    rows = billing_status_page(rpc, query, None).items
    if not rows:
        raise NotFound("account not found", {"field": "account_id"})
    return rows[0]


@router.get("/history", response_model=HistoryPage, summary="Bills, newest first (or by due date or amount)")
def billing_history(
    rpc: Rpc,
    page: Page = 1,
    page_size: PageSize = 25,
    sort: Annotated[HistorySort, Query(description="issue date (`-date`, the default), due date or amount; "
                                                   "`-` descending")] = "-date",
) -> HistoryPage:
    return rpc.billing.billing_history({"page": page, "page_size": page_size, "sort": sort})


def _document(rpc: Rpc, reference: str, fmt: DocumentFormat) -> Response:
    reply = rpc.billing.invoice_document({"reference": reference, "format": fmt.value})
    return Response(content=base64.b64decode(reply.content_base64), media_type=reply.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{reply.filename}"',
                             "Cache-Control": "private, no-store"})


@router.get("/invoices/{reference}.pdf", response_class=Response, summary="The invoice (or receipt) as a PDF",
            responses={200: {"content": {"application/pdf": {}}, "description": "the PDF"}})
def invoice_pdf(reference: Reference, rpc: Rpc) -> Response:
    return _document(rpc, reference, DocumentFormat.PDF)


@router.get("/invoices/{reference}.csv", response_class=Response,
            summary="The detail of a consolidated bill as CSV (RFC 4180): one row per account and service",
            responses={200: {"content": {"text/csv": {}}, "description": "the CSV"}})
def invoice_csv(reference: Reference, rpc: Rpc) -> Response:
    return _document(rpc, reference, DocumentFormat.CSV)


@router.post("/invoices/{reference}/pay", response_model=PaymentView,
             summary="Pay a bill now with a saved card (default: the active card)")
def pay_invoice(reference: Reference, body: PayBody, rpc: Rpc) -> PaymentView:
    request = {"card_id": str(body.card_id)} if body.card_id else {}
    return rpc.billing.pay_invoice(reference, request)


@router.get("/details", response_model=BillingDetailsView, summary="Billing details (null until entered)")
def get_details(rpc: Rpc) -> BillingDetailsView:
    return rpc.billing.get_billing_details()


@router.put("/details", response_model=BillingDetailsView, summary="Replace the billing details")
def set_details(body: BillingDetails, rpc: Rpc) -> BillingDetailsView:
    return rpc.billing.set_billing_details(_own(body))


@router.get("/cards", response_model=CardList, summary="Saved cards: display data only")
def list_cards(rpc: Rpc) -> CardList:
    return rpc.billing.list_cards()


@router.post("/cards", response_model=CardView, status_code=201,
             summary="Save a card by the payment processor's token (never a card number)")
def add_card(body: CardAddRequest, rpc: Rpc) -> CardView:
    return rpc.billing.add_card(body.to_wire())


@router.post("/cards/{card_id}/activate", response_model=CardView, summary="Make this the active card")
def activate_card(card_id: uuid.UUID, rpc: Rpc) -> CardView:
    return rpc.billing.activate_card(str(card_id))


@router.delete("/cards/{card_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a saved card")
def delete_card(card_id: uuid.UUID, rpc: Rpc) -> Response:
    rpc.billing.delete_card(str(card_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
