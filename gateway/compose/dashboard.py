"""The dashboard: one row per partner plus the Direct Accounts row, composed from two services.

Tenancy owns the rows, sizes and task statuses; billing owns amounts and billing
statuses. Each filter and sort is applied by the service that owns the attribute:

- name/size order, search, task status: tenancy pages; billing then answers the amounts
  of that page's partners;
- a billing-status filter: billing names the matching partners first, tenancy pages them;
- amount order: tenancy names every partner matching its search and filters (ids only),
  billing orders those by amount (and applies a billing-status filter) and pages them,
  tenancy answers the rows of that page.

Billing being down costs the billing columns (``billing_available: false``), not the page
(an amount sort falls back to name order); a billing-status filter cannot be answered
without billing (503). Tenancy being down is a 503.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.billing import OwnerAmountPage, OwnerRollup, RollupStatus
from contracts.identity import Principal
from contracts.tenancy import PartnerPage, PartnerRow, TaskStatus
from gateway.compose.billing_columns import (
    AMOUNT_SORTS,
    billing_order,
    billing_scope_args,
    call_billing,
    check_candidates,
    in_order,
    refuse_billing_terms,
    sees_money,
)
from gateway.deps import Rpc

DashboardSort = Literal["name", "-name", "size", "-size", "amount", "-amount", "status", "-status"]


class DashboardRow(BaseModel):
    id: uuid.UUID
    name: str
    email: str | None = None
    partner_code: str | None = None
    direct: bool = Field(default=False, description="the Direct Accounts row")
    accounts: int
    size_bytes: int
    task_status: TaskStatus
    amount: str | None = Field(default=None, description="owed, a decimal string; null when billing is unavailable")
    currency: str | None = None
    billing_status: RollupStatus | None = None


class DashboardPage(BaseModel):
    items: list[DashboardRow] = Field(description="partner rows of this page")
    direct_accounts: DashboardRow | None = Field(default=None, description="the Direct Accounts row")
    page: int
    page_size: int
    total: int
    total_partners: int
    sort: DashboardSort = Field(description="the order of the page (name when an amount sort had no billing)")
    billing_available: bool = Field(description="false when billing did not answer (or the caller does not see "
                                                "money): its columns are null")


def _row(row: PartnerRow, direct: bool, rollup: OwnerRollup | None) -> DashboardRow:
    return DashboardRow(
        id=row.id, name=row.name, email=row.email, partner_code=row.partner_code, direct=direct,
        accounts=row.accounts, size_bytes=row.size_bytes, task_status=row.task_status,
        amount=str(rollup.amount_owed) if rollup else None, currency=rollup.currency if rollup else None,
        billing_status=rollup.billing_status if rollup else None,
    )


def _page(partners: PartnerPage, rows: list[PartnerRow], direct: PartnerRow | None,
          rollups: dict[uuid.UUID, OwnerRollup], available: bool, sort: str, total: int) -> DashboardPage:
    return DashboardPage(
        items=[_row(row, False, rollups.get(row.id)) for row in rows],
        direct_accounts=_row(direct, True, rollups.get(direct.id)) if direct else None,
        page=partners.page, page_size=partners.page_size, total=total, total_partners=partners.total_partners,
        sort=sort, billing_available=available,  # type: ignore[arg-type]
    )


def dashboard_page(
    rpc: Rpc,
    principal: Principal,
    *,
    search: str | None,
    task_status: TaskStatus | None,
    billing_status: RollupStatus | None,
    sort: str,
    page: int,
    page_size: int,
    distributor_id: uuid.UUID | None,
) -> DashboardPage:
    """The dashboard page the caller asked for (the route's query parameters, checked)."""
    money = sees_money(principal, distributor_id)
    refuse_billing_terms(money, billing_status, sort)
    tenancy_filters: dict[str, Any] = {"search": search, "task_status": task_status,
                                       "distributor_id": str(distributor_id) if distributor_id else None}
    tenancy_filters = {k: v for k, v in tenancy_filters.items() if v is not None}
    billing_args = billing_scope_args(distributor_id)
    if sort in AMOUNT_SORTS:
        by_amount = _by_amount(rpc, tenancy_filters, billing_args, billing_status, sort, page, page_size)
        if by_amount is not None:
            return by_amount
        sort = "name"  # billing did not answer: tenancy's columns in name order
    query: dict[str, Any] = {**tenancy_filters, "sort": sort, "page": page, "page_size": page_size}
    include_direct = True
    if billing_status is not None:
        # Billing owns the filter: it names the matching partners, tenancy pages them.
        matching = rpc.billing.billing_filter({"level": "owners", "owner_status": billing_status, **billing_args})
        query["ids"] = matching["ids"]
        include_direct = bool(matching.get("includes_direct"))
    partners = rpc.tenancy.list_partners(query)
    direct = partners.direct if include_direct else None
    rollups, available = _rollups(rpc, partners.items, direct, billing_args) if money else ({}, False)
    return _page(partners, partners.items, direct, rollups, available, sort, partners.total)


def _by_amount(rpc: Rpc, tenancy_filters: dict[str, Any], billing_args: dict[str, Any],
               billing_status: RollupStatus | None, sort: str, page: int, page_size: int) -> DashboardPage | None:
    """Tenancy names the candidates, billing orders and pages them, tenancy answers the page's rows.

    None when billing did not answer and no billing filter was asked for (the caller falls
    back to name order).
    """
    candidates = rpc.tenancy.partner_ids(tenancy_filters)
    check_candidates(candidates, "partners")
    request = {"ids": [str(i) for i in candidates.ids], "sort": sort, "page": page, "page_size": page_size,
               **billing_args, **({"owner_status": billing_status.value} if billing_status else {})}
    answer = billing_order(rpc, rpc.billing.billing_owner_page_call(request), filtering=billing_status is not None)
    if answer is None:
        return None
    ordered = OwnerAmountPage.from_wire(answer)
    page_ids = [item.owner_id for item in ordered.items]
    # The tenancy filters again (the page's ids match them already): tenancy applies them to
    # the Direct Accounts row it answers beside the page.
    partners = rpc.tenancy.list_partners({
        "ids": [str(i) for i in page_ids], "page": 1, "page_size": max(len(page_ids), 1), **tenancy_filters})
    rows = in_order(page_ids, partners.items, key=lambda row: row.id)
    direct = partners.direct if ordered.direct is not None else None
    rollups = {item.owner_id: item for item in ordered.items}
    if ordered.direct is not None:
        rollups[ordered.direct.owner_id] = ordered.direct
    page_info = partners.model_copy(update={"page": page, "page_size": page_size})
    return _page(page_info, rows, direct, rollups, True, sort, ordered.total)


def _rollups(rpc: Rpc, rows: list[PartnerRow], direct: PartnerRow | None,
             billing_args: dict[str, Any]) -> tuple[dict[uuid.UUID, OwnerRollup], bool]:
    owners = [str(row.id) for row in rows] + ([str(direct.id)] if direct else [])
    if not owners:
        return {}, True
    answer, available = call_billing(rpc, rpc.billing.billing_rollups_call({"owner_ids": owners, **billing_args}))
    if not available:
        return {}, False
    return {item.owner_id: item for item in (OwnerRollup.from_wire(i) for i in answer["items"])}, True
