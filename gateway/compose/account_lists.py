"""Account lists (a partner's accounts, the direct accounts) composed like the dashboard:
tenancy's rows, billing's status and amount beside them.

Tenancy pages by name, size, search and its statuses; a billing-status filter is billing's
(it names the matching accounts first); amount order is billing's over tenancy's candidates.
Billing being down blanks its columns (an amount sort falls back to name order), except
that a billing-status filter then answers 503.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.billing import AccountAmount, AccountAmountPage, BillingStatus
from contracts.identity import Principal
from contracts.tenancy import AccountCounters, AccountPage, AccountRow
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

AccountSort = Literal["name", "-name", "size", "-size", "amount", "-amount", "status", "-status", "backup_status",
                      "-backup_status"]


class AccountListRow(AccountRow):
    billing_status: BillingStatus | None = Field(default=None, description="null when billing is unavailable")
    amount: str | None = Field(default=None, description="amount due, a decimal string; null when billing is "
                                                         "unavailable")
    currency: str | None = None


class AccountListPage(BaseModel):
    items: list[AccountListRow]
    page: int
    page_size: int
    total: int = Field(description="accounts matching the search and filters (the N of 'N of M')")
    total_accounts: int = Field(description="accounts in the list before search and filters (the M)")
    counters: AccountCounters
    sort: AccountSort = Field(description="the order of the page (name when an amount sort had no billing)")
    billing_available: bool = Field(description="false when billing did not answer (or the caller does not see "
                                                "money): its columns are null")


def _with_amounts(page: AccountPage, rows: list[AccountRow], amounts: dict[uuid.UUID, AccountAmount] | None,
                  sort: str, total: int, page_number: int, page_size: int) -> AccountListPage:
    def row(account: AccountRow) -> AccountListRow:
        amount = amounts.get(account.id) if amounts is not None else None
        return AccountListRow(
            **account.model_dump(), billing_status=amount.billing_status if amount else None,
            amount=str(amount.amount_due) if amount else None, currency=amount.currency if amount else None)

    return AccountListPage(items=[row(account) for account in rows], page=page_number, page_size=page_size,
                           total=total, total_accounts=page.total_accounts, counters=page.counters,
                           sort=sort, billing_available=amounts is not None)  # type: ignore[arg-type]


def account_list_page(rpc: Rpc, principal: Principal, owner: dict[str, Any], filters: dict[str, Any],
                  billing_status: BillingStatus | None, distributor_id: uuid.UUID | None,
                  billing_owner: uuid.UUID | None) -> AccountListPage:
    """A drill-down composed like the dashboard: tenancy's rows, billing's status and amount.

    ``owner`` names the list for tenancy (partner_id, or distributor_id for direct accounts),
    ``billing_owner`` for billing's filter (the partner; None: the direct accounts).
    """
    money = sees_money(principal, distributor_id)
    sort = filters["sort"]
    refuse_billing_terms(money, billing_status, sort)
    billing_args = billing_scope_args(distributor_id)
    if sort in AMOUNT_SORTS:
        composed = _by_amount(rpc, owner, filters, billing_status, billing_args)
        if composed is not None:
            return composed
        filters = {**filters, "sort": "name"}  # billing did not answer: tenancy's columns in name order
    query = {**filters, **owner}
    if billing_status is not None:
        # Billing owns the filter: it names the matching accounts, tenancy pages them.
        matching = rpc.billing.billing_filter({
            "level": "accounts", "account_status": billing_status.value,
            **({"owner_id": str(billing_owner)} if billing_owner else {}), **billing_args})
        query["ids"] = matching["ids"]
    page = rpc.tenancy.list_accounts(query)
    amounts: dict[uuid.UUID, AccountAmount] | None = None
    if money and not page.items:
        amounts = {}
    elif money:
        answer, available = call_billing(rpc, rpc.billing.billing_account_amounts_call(
            {"ids": [str(row.id) for row in page.items], **billing_args}))
        if available:
            amounts = {a.account_id: a for a in AccountAmountPage.from_wire(answer).items}
    return _with_amounts(page, page.items, amounts, filters["sort"], page.total, page.page, page.page_size)


def _by_amount(rpc: Rpc, owner: dict[str, Any], filters: dict[str, Any], billing_status: BillingStatus | None,
               billing_args: dict[str, Any]) -> AccountListPage | None:
    """Tenancy names the candidates, billing orders and pages them, tenancy answers the page's rows."""
    tenancy_filters = {k: v for k, v in filters.items() if k not in ("sort", "page", "page_size")}
    candidates = rpc.tenancy.account_ids({**tenancy_filters, **owner})
    check_candidates(candidates, "accounts")
    request = {"ids": [str(i) for i in candidates.ids], "sort": filters["sort"], "page": filters["page"],
               "page_size": filters["page_size"], **billing_args,
               **({"account_status": billing_status.value} if billing_status else {})}
    answer = billing_order(rpc, rpc.billing.billing_account_amounts_call(request),
                           filtering=billing_status is not None)
    if answer is None:
        return None
    ordered = AccountAmountPage.from_wire(answer)
    page_ids = [item.account_id for item in ordered.items]
    page = rpc.tenancy.list_accounts({
        **owner, "ids": [str(i) for i in page_ids], "page": 1, "page_size": max(len(page_ids), 1)})
    rows = in_order(page_ids, page.items, key=lambda row: row.id)
    return _with_amounts(page, rows, {a.account_id: a for a in ordered.items}, filters["sort"], ordered.total,
                         filters["page"], filters["page_size"])
