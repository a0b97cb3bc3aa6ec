"""Customer accounts: the account lists, add, read, delete a trial, remove, subscribe trials,
backup tasks."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from contracts.billing import AccountAmount, AccountAmountPage, BillingStatus
from contracts.identity import Principal
from contracts.tenancy import (
    AccountCounters,
    AccountCreateRequest,
    AccountPage,
    AccountRow,
    AccountStatus,
    AccountView,
    BackupStatus,
    BackupTaskRequest,
    BackupTaskView,
    IdList,
    RemoveAccountRequest,
    SubscribeTrialsReply,
    SubscribeTrialsRequest,
)
from gateway.auth import require_permission
from gateway.deps import IdempotencyKey, Rpc, keyed
from gateway.routes.dashboard import (
    AMOUNT_SORTS,
    billing_order,
    billing_scope_args,
    call_billing,
    check_candidates,
    in_order,
    refuse_billing_terms,
    sees_money,
)

router = APIRouter(tags=["accounts"])
can_add = Depends(require_permission("add_accounts"))
can_view = Depends(require_permission("view_dashboard"))
can_subscribe = Depends(require_permission("subscribe_accounts"))


def list_filters(
    search: Annotated[str | None, Query(min_length=1, max_length=200, description="part of name or email")] = None,
    account_status: AccountStatus | None = None,
    backup_status: BackupStatus | None = None,
    sort: AccountSort = "name",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> dict[str, Any]:
    query = {"search": search, "account_status": account_status, "backup_status": backup_status,
             "sort": sort, "page": page, "page_size": page_size}
    return {key: value for key, value in query.items() if value is not None}


ListFilters = Annotated[dict[str, Any], Depends(list_filters)]
AccountSort = Literal["name", "-name", "size", "-size", "amount", "-amount"]


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


def _account_list(rpc: Rpc, principal: Principal, owner: dict[str, Any], filters: dict[str, Any],
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
        matching = rpc.call("billing", "billing_filter", {
            "level": "accounts", "account_status": billing_status.value,
            **({"owner_id": str(billing_owner)} if billing_owner else {}), **billing_args})
        query["ids"] = matching["ids"]
    page = AccountPage.from_wire(rpc.call("tenancy", "list_accounts", query))
    amounts: dict[uuid.UUID, AccountAmount] | None = None
    if money and not page.items:
        amounts = {}
    elif money:
        answer, available = call_billing(rpc, "billing_account_amounts",
                                         {"ids": [str(row.id) for row in page.items], **billing_args})
        if available:
            amounts = {a.account_id: a for a in AccountAmountPage.from_wire(answer).items}
    return _with_amounts(page, page.items, amounts, filters["sort"], page.total, page.page, page.page_size)


def _by_amount(rpc: Rpc, owner: dict[str, Any], filters: dict[str, Any], billing_status: BillingStatus | None,
               billing_args: dict[str, Any]) -> AccountListPage | None:
    """Tenancy names the candidates, billing orders and pages them, tenancy answers the page's rows."""
    tenancy_filters = {k: v for k, v in filters.items() if k not in ("sort", "page", "page_size")}
    candidates = IdList.from_wire(rpc.call("tenancy", "account_ids", {**tenancy_filters, **owner}))
    check_candidates(candidates, "accounts")
    request = {"ids": [str(i) for i in candidates.ids], "sort": filters["sort"], "page": filters["page"],
               "page_size": filters["page_size"], **billing_args,
               **({"account_status": billing_status.value} if billing_status else {})}
    answer = billing_order(rpc, "billing_account_amounts", request, filtering=billing_status is not None)
    if answer is None:
        return None
    ordered = AccountAmountPage.from_wire(answer)
    page_ids = [item.account_id for item in ordered.items]
    page = AccountPage.from_wire(rpc.call("tenancy", "list_accounts", {
        **owner, "ids": [str(i) for i in page_ids], "page": 1, "page_size": max(len(page_ids), 1)}))
    rows = in_order(page_ids, page.items, key=lambda row: row.id)
    return _with_amounts(page, rows, {a.account_id: a for a in ordered.items}, filters["sort"], ordered.total,
                         filters["page"], filters["page_size"])


@router.get(
    "/partners/{partner_id}/accounts",
    response_model=AccountListPage,
    summary="A partner's accounts with statuses, sizes, billing status and amount, trial and backup counters",
    responses={403: {"description": "`permission_denied`: billing_status or an amount sort without 'view_billing'"},
               503: {"description": "tenancy did not answer, or billing did not answer a billing_status filter"}},
)
def list_partner_accounts(partner_id: uuid.UUID, filters: ListFilters, rpc: Rpc,
                          principal: Annotated[Principal, can_view],
                          billing_status: BillingStatus | None = None) -> AccountListPage:
    return _account_list(rpc, principal, {"partner_id": str(partner_id)}, filters, billing_status, None, partner_id)


@router.get(
    "/direct-accounts",
    response_model=AccountListPage,
    summary="The distributor's direct accounts (operators name the distributor)",
    responses={403: {"description": "`permission_denied`: billing_status or an amount sort without 'view_billing'"},
               503: {"description": "tenancy did not answer, or billing did not answer a billing_status filter"}},
)
def list_direct_accounts(
    filters: ListFilters, rpc: Rpc, principal: Annotated[Principal, can_view],
    distributor_id: uuid.UUID | None = None, billing_status: BillingStatus | None = None,
) -> AccountListPage:
    owner = {"distributor_id": str(distributor_id)} if distributor_id is not None else {}
    return _account_list(rpc, principal, owner, filters, billing_status, distributor_id, distributor_id)


@router.post(
    "/accounts",
    response_model=AccountView,
    status_code=201,
    dependencies=[can_add],
    summary="Add an account under a partner, or a direct account (no partner_id)",
    description="Without `subscription` the account starts with its owner's default subscription.",
)
def create_account(body: AccountCreateRequest, rpc: Rpc, idempotency_key: IdempotencyKey = None) -> AccountView:
    return AccountView.from_wire(rpc.call("tenancy", "create_account", body.to_wire(), **keyed(idempotency_key)))


@router.post(
    "/accounts/subscribe-trials",
    response_model=SubscribeTrialsReply,
    dependencies=[can_subscribe],
    summary="Subscribe trial accounts (running or expired) to a plan; others are untouched",
)
def subscribe_trials(body: SubscribeTrialsRequest, rpc: Rpc) -> SubscribeTrialsReply:
    return SubscribeTrialsReply.from_wire(rpc.call("tenancy", "subscribe_trials", body.to_wire()))


@router.get("/accounts/{account_id}", response_model=AccountView, dependencies=[can_view])
def get_account(account_id: uuid.UUID, rpc: Rpc) -> AccountView:
    return AccountView.from_wire(rpc.call("tenancy", "get_account", str(account_id)))


@router.delete(
    "/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[can_add],
    summary="Delete a trial account",
    responses={409: {"description": "`conflict`: only a trial can be deleted; remove a subscribed account"}},
)
def delete_trial(account_id: uuid.UUID, rpc: Rpc) -> Response:
    rpc.call("tenancy", "delete_trial", str(account_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/accounts/{account_id}/remove",
    response_model=AccountView,
    dependencies=[can_add],
    summary="Remove an account and all its backup data (needs approve_data_removal: true)",
    responses={422: {"description": "`validation_failed` naming `approve_data_removal` when it is not true"}},
)
def remove_account(account_id: uuid.UUID, body: RemoveAccountRequest, rpc: Rpc) -> AccountView:
    return AccountView.from_wire(rpc.call("tenancy", "remove_account", str(account_id), body.to_wire()))


@router.post(
    "/accounts/{account_id}/backup-tasks",
    response_model=BackupTaskView,
    status_code=201,
    dependencies=[can_add],
    summary="Add a backup task (inactive until activated)",
)
def add_backup_task(account_id: uuid.UUID, body: BackupTaskRequest, rpc: Rpc) -> BackupTaskView:
    return BackupTaskView.from_wire(rpc.call("tenancy", "add_backup_task", str(account_id), body.to_wire()))


@router.post("/accounts/{account_id}/backup-tasks/{task_id}/activate", response_model=BackupTaskView,
             dependencies=[can_add])
def activate_backup_task(account_id: uuid.UUID, task_id: uuid.UUID, rpc: Rpc) -> BackupTaskView:
    return BackupTaskView.from_wire(rpc.call("tenancy", "activate_backup_task", str(account_id), str(task_id)))


@router.post("/accounts/{account_id}/backup-tasks/{task_id}/pause", response_model=BackupTaskView,
             dependencies=[can_add])
def pause_backup_task(account_id: uuid.UUID, task_id: uuid.UUID, rpc: Rpc) -> BackupTaskView:
    return BackupTaskView.from_wire(rpc.call("tenancy", "pause_backup_task", str(account_id), str(task_id)))
