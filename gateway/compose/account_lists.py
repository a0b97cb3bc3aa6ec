"""Account lists (a partner's accounts, the direct accounts): tenancy's rows with billing's
status and amount, which tenancy keeps from billing's announcements; one call, every filter
and sort (billing status and amount included) one query there. Money columns only for a
caller who sees money, as on the dashboard.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.billing import BillingStatus
from contracts.identity import Principal
from contracts.tenancy import AccountCounters, AccountRow, AccountStatus, BackupStatus, Plan
from gateway.compose.billing_columns import refuse_billing_terms, sees_money
from gateway.deps import Rpc

AccountSort = Literal["name", "-name", "size", "-size", "amount", "-amount", "status", "-status", "backup_status",
                      "-backup_status"]


class AccountListRow(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    email: str | None = None
    account_status: AccountStatus
    backup_status: BackupStatus
    plan: Plan | None = None
    trial_ends_at: datetime | None = None
    size_bytes: int
    seats: int
    tasks: int
    billing_status: BillingStatus | None = Field(default=None, description="null for a caller who does not see "
                                                                           "money")
    amount: str | None = Field(default=None, description="amount due, a decimal string; null for a caller who "
                                                         "does not see money")
    currency: str | None = None


class AccountListPage(BaseModel):
    items: list[AccountListRow]
    page: int
    page_size: int
    total: int = Field(description="accounts matching the search and filters (the N of 'N of M')")
    total_accounts: int = Field(description="accounts in the list before search and filters (the M)")
    counters: AccountCounters
    sort: AccountSort = Field(description="the order of the page")
    billing_available: bool = Field(description="false when the caller does not see money: the billing columns "
                                                "are null")


def _row(account: AccountRow, money: bool) -> AccountListRow:
    fields = account.model_dump(exclude={"billing_status", "amount_due", "currency"})
    if not money:
        return AccountListRow(**fields)
    return AccountListRow(**fields, billing_status=account.billing_status, amount=str(account.amount_due),
                          currency=account.currency)


def account_list_page(rpc: Rpc, principal: Principal, owner: dict[str, Any], filters: dict[str, Any],
                      billing_status: BillingStatus | None, distributor_id: uuid.UUID | None) -> AccountListPage:
    """A drill-down: ``owner`` names the list for tenancy (partner_id, or distributor_id for
    direct accounts)."""
    money = sees_money(principal, distributor_id)
    refuse_billing_terms(money, billing_status, filters["sort"])
    query = {**filters, **owner, **({"billing_status": billing_status.value} if billing_status else {})}
    page = rpc.tenancy.list_accounts(query)
    return AccountListPage(items=[_row(account, money) for account in page.items], page=page.page,
                           page_size=page.page_size, total=page.total, total_accounts=page.total_accounts,
                           counters=page.counters, sort=filters["sort"], billing_available=money)
