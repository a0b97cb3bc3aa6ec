"""What Support does in billing: run billing for a day, record a payment made outside the
processor (PayPal, bank transfer), switch a distributor's billing method."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from contracts.billing import (
    BillingFactsReply,
    BillingFactsRequest,
    BillingMethodView,
    BillingRunReply,
    BillingRunRequest,
    PaymentView,
    RecordPaymentRequest,
)
from gateway.auth import Operator
from gateway.bodies import MethodBody
from gateway.deps import Rpc

# Tagged "billing" too: every billing route of the API carries the tag
# (tests/e2e/test_billing_journeys.py relies on it).
router = APIRouter(prefix="/operator", tags=["operator", "billing"])


@router.post("/billing-runs", response_model=BillingRunReply,
             summary="Run billing as of a day: the month that ended before it, annual terms started by it (idempotent)")
def run_billing(body: BillingRunRequest, operator: Operator, rpc: Rpc) -> BillingRunReply:
    return rpc.billing.run_billing(body.to_wire(), timeout=600)


@router.post("/jobs/billing-facts", response_model=BillingFactsReply,
             summary="Announce every billed account's billing facts again (after an upgrade, or to rebuild the lists)",
             description="Billing announces `account_billing_changed` with a new version for every account on "
                         "any bill (of `distributor_id` when given); tenancy keeps the newest, so running it "
                         "twice changes nothing but the versions.")
def announce_billing_facts(body: BillingFactsRequest, operator: Operator, rpc: Rpc) -> BillingFactsReply:
    return rpc.billing.announce_billing_facts(body.to_wire(), timeout=600)


@router.post("/billing/payments", response_model=PaymentView, status_code=201,
             summary="Record a payment of an invoice (PayPal, bank transfer over USD 1,000, card by phone)")
def record_payment(body: RecordPaymentRequest, operator: Operator, rpc: Rpc) -> PaymentView:
    return rpc.billing.record_payment(body.to_wire())


@router.put("/distributors/{distributor_id}/billing/method", response_model=BillingMethodView,
            summary="Switch a distributor's billing method")
def switch_method(distributor_id: uuid.UUID, body: MethodBody, operator: Operator, rpc: Rpc) -> BillingMethodView:
    return rpc.billing.set_billing_method({"method": body.method.value, "distributor_id": str(distributor_id)})
