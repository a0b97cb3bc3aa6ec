"""Announce every billed account's facts again (operators): how tenancy's copy is filled after
an upgrade, or rebuilt after a loss (docs/operations.md)."""

from __future__ import annotations

from contracts.billing import BillingFactsReply, BillingFactsRequest
from servicekit.db import UnitOfWork
from services.billing.adapters.account_billing import announce_every_account_billing


def announce_billing_facts(uow: UnitOfWork, request: BillingFactsRequest) -> BillingFactsReply:
    announced = announce_every_account_billing(uow, request.distributor_id)
    uow.commit()
    return BillingFactsReply(accounts=announced)
