"""``GET /dashboard``: one row per partner plus the Direct Accounts row, composed.

Tenancy owns the rows, sizes and task statuses; billing owns amounts and billing
statuses. Each filter is applied by the service that owns it: a billing-status filter
asks billing for the matching partners first, then tenancy pages those. Billing being
down costs the billing columns (``billing_available: false``), not the page; tenancy
being down is a 503.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from contracts.billing import OwnerRollup, RollupStatus
from contracts.identity import Principal
from contracts.tenancy import PartnerPage, PartnerRow, TaskStatus
from gateway.auth import require_permission
from gateway.deps import Rpc
from servicekit.logging import get_logger

log = get_logger(__name__)
router = APIRouter(tags=["dashboard"])
can_view = Depends(require_permission("view_dashboard"))


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
    billing_available: bool = Field(description="false when billing did not answer: its columns are null")


def _row(row: PartnerRow, direct: bool, rollup: OwnerRollup | None) -> DashboardRow:
    return DashboardRow(
        id=row.id, name=row.name, email=row.email, partner_code=row.partner_code, direct=direct,
        accounts=row.accounts, size_bytes=row.size_bytes, task_status=row.task_status,
        amount=str(rollup.amount_owed) if rollup else None, currency=rollup.currency if rollup else None,
        billing_status=rollup.billing_status if rollup else None,
    )


def _sees_money(principal: Principal) -> bool:
    return principal.user.tenant_kind in ("distributor", "operator")


@router.get(
    "/dashboard",
    response_model=DashboardPage,
    summary="Partner rows plus the Direct Accounts row: size, amount, task and billing status",
    responses={503: {"description": "tenancy did not answer (billing alone missing only blanks its columns)"}},
)
def dashboard(
    rpc: Rpc,
    principal: Annotated[Principal, can_view],
    search: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    task_status: TaskStatus | None = None,
    billing_status: RollupStatus | None = None,
    sort: Literal["name", "-name", "size", "-size"] = "name",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> DashboardPage:
    money = _sees_money(principal)
    query: dict[str, Any] = {"search": search, "task_status": task_status, "sort": sort, "page": page,
                             "page_size": page_size}
    include_direct = True
    if billing_status is not None and money:
        # Billing owns the filter: it names the matching partners, tenancy pages them.
        matching = rpc.call("billing", "billing_filter", {"level": "owners", "owner_status": billing_status})
        query["ids"] = matching["ids"]
        include_direct = bool(matching.get("includes_direct"))
    partners = PartnerPage.from_wire(rpc.call("tenancy", "list_partners",
                                              {k: v for k, v in query.items() if v is not None}))
    direct = partners.direct if include_direct else None
    rollups, available = _rollups(rpc, partners, direct) if money else ({}, False)
    return DashboardPage(
        items=[_row(row, False, rollups.get(row.id)) for row in partners.items],
        direct_accounts=_row(direct, True, rollups.get(direct.id)) if direct else None,
        page=partners.page, page_size=partners.page_size, total=partners.total,
        total_partners=partners.total_partners, billing_available=available,
    )


def _rollups(rpc: Rpc, partners: PartnerPage, direct: PartnerRow | None) -> tuple[dict[uuid.UUID, OwnerRollup], bool]:
    owners = [str(row.id) for row in partners.items] + ([str(direct.id)] if direct else [])
    if not owners:
        return {}, True
    result = rpc.call_many({"billing": ("billing_rollups", {"owner_ids": owners})})["billing"]
    if result.error is not None:
        log.warning("dashboard without billing columns", error=type(result.error).__name__)
        return {}, False
    return {item.owner_id: item for item in (OwnerRollup.from_wire(i) for i in result.value["items"])}, True
