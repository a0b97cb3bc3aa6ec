"""Billing status per account: billing's page, named by tenancy as the tenants are now.

Billing answers the rows (it scopes them to the caller's accounts itself); tenancy answers,
in the same round trip when a partner is named, whether the caller sees that partner, and
then the current names of the page's accounts and partners. Tenancy being away costs the
fresh names (billing's copies stay), not the page.
"""

from __future__ import annotations

import uuid
from typing import Any

from contracts.billing import AccountBillingPage
from contracts.errors import NotFound
from contracts.tenancy import TenantNameList
from contracts.vocabulary import TenantKind
from gateway.deps import Rpc
from gateway.rpc import CallResult
from servicekit.logging import get_logger

log = get_logger(__name__)


def billing_status_page(rpc: Rpc, query: dict[str, Any], partner_id: uuid.UUID | None) -> AccountBillingPage:
    """Billing's status page for ``query`` (its None values dropped), 404 for a partner the caller
    does not see, with tenancy's current names."""
    calls = {"status": rpc.billing.billing_status_call({k: v for k, v in query.items() if v is not None})}
    if partner_id is not None:
        # Billing knows partners only through their accounts; tenancy says (in parallel)
        # whether the caller sees this partner at all, so a foreign one is 404, not an empty page.
        calls["partner"] = rpc.tenancy.tenant_names_call({"ids": [str(partner_id)]})
    results = rpc.call_many(calls)
    if partner_id is not None:
        _require_visible_partner(results["partner"], partner_id)
    return _with_names(rpc, AccountBillingPage.from_wire(results["status"].unwrap()))


def _require_visible_partner(result: CallResult, partner_id: uuid.UUID) -> None:
    if result.error is not None:
        result.raise_refusal()
        return  # tenancy away: billing's own scope still limits the page to the caller's accounts
    seen = TenantNameList.from_wire(result.value).items
    if not any(item.id == partner_id and item.kind == TenantKind.PARTNER for item in seen):
        raise NotFound("partner not found", {"field": "partner_id"})


def _with_names(rpc: Rpc, page: AccountBillingPage) -> AccountBillingPage:
    """Billing answered the page; one tenancy call names its accounts and partners as they are now.

    Tenancy answers only the tenants the caller sees. Without tenancy the page keeps the
    names billing learnt from tenancy's events (and no partner names).
    """
    ids = {row.account_id for row in page.items} | {row.partner_id for row in page.items if row.partner_id}
    if not ids:
        return page
    result = rpc.attempt(rpc.tenancy.tenant_names_call({"ids": sorted(str(i) for i in ids)}))
    if result.error is not None:
        result.raise_refusal()
        log.warning("billing status without tenancy's names", error=type(result.error).__name__)
        return page
    names = {item.id: item.name for item in TenantNameList.from_wire(result.value).items}
    items = [
        row.model_copy(update={"account_name": names.get(row.account_id, row.account_name),
                               "partner_name": names.get(row.partner_id) if row.partner_id else None})
        for row in page.items
    ]
    return page.model_copy(update={"items": items})
