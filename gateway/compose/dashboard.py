"""The dashboard: one row per partner plus the Direct Accounts row, in one call to tenancy.

Tenancy owns the rows, sizes and task statuses; billing owns amounts and billing statuses
and announces every change of an account's bills (``account_billing_changed``). Tenancy
keeps those facts on its rows, so each filter and sort, billing status and amount included,
is one indexed query there (docs/decisions/0016-billing-facts-on-tenancy-rows.md).

The gateway still composes what the caller sees: money columns only for a caller who sees
money (a billing filter or amount sort from anyone else is 403). Billing being away costs
nothing here (its last announced facts stand); tenancy being away is a 503.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.billing import RollupStatus
from contracts.identity import Principal
from contracts.tenancy import PartnerRow, TaskStatus
from gateway.compose.billing_columns import refuse_billing_terms, sees_money
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
    amount: str | None = Field(default=None, description="owed, a decimal string; null for a caller who does not "
                                                        "see money")
    currency: str | None = None
    billing_status: RollupStatus | None = None


class DashboardPage(BaseModel):
    items: list[DashboardRow] = Field(description="partner rows of this page")
    direct_accounts: DashboardRow | None = Field(default=None, description="the Direct Accounts row")
    page: int
    page_size: int
    total: int
    total_partners: int
    sort: DashboardSort = Field(description="the order of the page")
    billing_available: bool = Field(description="false when the caller does not see money: the billing columns "
                                                "are null")


def _row(row: PartnerRow, direct: bool, money: bool) -> DashboardRow:
    return DashboardRow(
        id=row.id, name=row.name, email=row.email, partner_code=row.partner_code, direct=direct,
        accounts=row.accounts, size_bytes=row.size_bytes, task_status=row.task_status,
        amount=str(row.amount_owed) if money else None, currency=row.currency if money else None,
        billing_status=row.billing_status if money else None,
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
    query: dict[str, Any] = {"search": search, "task_status": task_status, "billing_status": billing_status,
                             "distributor_id": str(distributor_id) if distributor_id else None,
                             "sort": sort, "page": page, "page_size": page_size}
    partners = rpc.tenancy.list_partners({k: v for k, v in query.items() if v is not None})
    return DashboardPage(
        items=[_row(row, False, money) for row in partners.items],
        direct_accounts=_row(partners.direct, True, money) if partners.direct else None,
        page=partners.page, page_size=partners.page_size, total=partners.total,
        total_partners=partners.total_partners, sort=sort,  # type: ignore[arg-type]
        billing_available=money,
    )
