"""Customer accounts: the account lists, add, read, delete a trial, remove, subscribe trials,
backup tasks."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from contracts.billing import BillingStatus
from contracts.errors import PermissionDenied, ValidationFailed
from contracts.identity import Principal
from contracts.tenancy import (
    AccountCreateRequest,
    AccountPickPage,
    AccountStatus,
    AccountView,
    BackupStatus,
    BackupTaskRequest,
    BackupTaskView,
    RemoveAccountRequest,
    SubscribeTrialsReply,
    SubscribeTrialsRequest,
)
from contracts.vocabulary import Permission
from gateway.auth import Authorised, is_administrator, require_permission
from gateway.compose.account_lists import AccountListPage, AccountSort, account_list_page
from gateway.deps import IdempotencyKey, Rpc

router = APIRouter(tags=["accounts"])
can_add = Depends(require_permission(Permission.ADD_ACCOUNTS))
can_view = Depends(require_permission(Permission.VIEW_DASHBOARD))
can_subscribe = Depends(require_permission(Permission.SUBSCRIBE_ACCOUNTS))


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


@router.get(
    "/partners/{partner_id}/accounts",
    response_model=AccountListPage,
    summary="A partner's accounts with statuses, sizes, billing status and amount, trial and backup counters",
    responses={403: {"description": "`permission_denied`: billing_status or an amount sort without 'view_billing'"},
               503: {"description": "tenancy did not answer"}},
)
def list_partner_accounts(partner_id: uuid.UUID, filters: ListFilters, rpc: Rpc,
                          principal: Annotated[Principal, can_view],
                          billing_status: BillingStatus | None = None) -> AccountListPage:
    return account_list_page(rpc, principal, {"partner_id": str(partner_id)}, filters, billing_status, None)


@router.get(
    "/direct-accounts",
    response_model=AccountListPage,
    summary="The distributor's direct accounts (operators name the distributor)",
    responses={403: {"description": "`permission_denied`: billing_status or an amount sort without 'view_billing'"},
               503: {"description": "tenancy did not answer"}},
)
def list_direct_accounts(
    filters: ListFilters, rpc: Rpc, principal: Annotated[Principal, can_view],
    distributor_id: uuid.UUID | None = None, billing_status: BillingStatus | None = None,
) -> AccountListPage:
    owner = {"distributor_id": str(distributor_id)} if distributor_id is not None else {}
    return account_list_page(rpc, principal, owner, filters, billing_status, distributor_id)


@router.post(
    "/accounts",
    response_model=AccountView,
    status_code=201,
    dependencies=[can_add],
    summary="Add an account under a partner, or a direct account (no partner_id)",
    description="Without `subscription` the account starts with its owner's default subscription.",
)
def create_account(body: AccountCreateRequest, rpc: Rpc, idempotency_key: IdempotencyKey = None) -> AccountView:
    return rpc.tenancy.create_account(body.to_wire(), idempotency_key=idempotency_key)


@router.post(
    "/accounts/subscribe-trials",
    response_model=SubscribeTrialsReply,
    dependencies=[can_subscribe],
    summary="Subscribe trial accounts (running or expired) to a plan; others are untouched",
)
def subscribe_trials(body: SubscribeTrialsRequest, rpc: Rpc) -> SubscribeTrialsReply:
    return rpc.tenancy.subscribe_trials(body.to_wire())


def can_pick_accounts(principal: Authorised) -> Principal:
    """Pickers of accounts: the dashboard's users, the security audit's, and administrators."""
    user = principal.user
    if is_administrator(principal) or {Permission.VIEW_DASHBOARD, Permission.VIEW_SECURITY_AUDIT} & set(
            user.permissions):
        return principal
    raise PermissionDenied("you need the 'view_dashboard' or 'view_security_audit' permission")


@router.get(
    "/accounts",
    response_model=AccountPickPage,
    dependencies=[Depends(can_pick_accounts)],
    summary="Accounts anywhere in your subtree, by name or email and status, in name order (pickers)",
    description="Only the accounts you may see (accessible accounts apply); removed accounts only with "
                "`status=removed`. `status` and `account_status` are the same filter.",
    responses={422: {"description": "`validation_failed` naming `status` when it and `account_status` differ"}},
)
def search_accounts(
    rpc: Rpc,
    search: Annotated[str | None, Query(min_length=1, max_length=200, description="part of name or email")] = None,
    status_filter: Annotated[AccountStatus | None, Query(
        alias="status", description="the account status (the same filter as account_status)")] = None,
    account_status: AccountStatus | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> AccountPickPage:
    if status_filter is not None and account_status is not None and status_filter != account_status:
        raise ValidationFailed.for_field("status", "differs from account_status; give one of them")
    query = {"search": search, "account_status": status_filter or account_status, "page": page, "page_size": page_size}
    return rpc.tenancy.search_accounts({k: v for k, v in query.items() if v is not None})


@router.get("/accounts/{account_id}", response_model=AccountView, dependencies=[can_view])
def get_account(account_id: uuid.UUID, rpc: Rpc) -> AccountView:
    return rpc.tenancy.get_account(str(account_id))


@router.delete(
    "/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[can_add],
    summary="Delete a trial account",
    responses={409: {"description": "`conflict`: only a trial can be deleted; remove a subscribed account"}},
)
def delete_trial(account_id: uuid.UUID, rpc: Rpc) -> Response:
    rpc.tenancy.delete_trial(str(account_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/accounts/{account_id}/remove",
    response_model=AccountView,
    dependencies=[can_add],
    summary="Remove an account and all its backup data (needs approve_data_removal: true)",
    responses={422: {"description": "`validation_failed` naming `approve_data_removal` when it is not true"}},
)
def remove_account(account_id: uuid.UUID, body: RemoveAccountRequest, rpc: Rpc) -> AccountView:
    return rpc.tenancy.remove_account(str(account_id), body.to_wire())


@router.post(
    "/accounts/{account_id}/backup-tasks",
    response_model=BackupTaskView,
    status_code=201,
    dependencies=[can_add],
    summary="Add a backup task (inactive until activated)",
)
def add_backup_task(account_id: uuid.UUID, body: BackupTaskRequest, rpc: Rpc) -> BackupTaskView:
    return rpc.tenancy.add_backup_task(str(account_id), body.to_wire())


@router.post("/accounts/{account_id}/backup-tasks/{task_id}/activate", response_model=BackupTaskView,
             dependencies=[can_add])
def activate_backup_task(account_id: uuid.UUID, task_id: uuid.UUID, rpc: Rpc) -> BackupTaskView:
    return rpc.tenancy.activate_backup_task(str(account_id), str(task_id))


@router.post("/accounts/{account_id}/backup-tasks/{task_id}/pause", response_model=BackupTaskView,
             dependencies=[can_add])
def pause_backup_task(account_id: uuid.UUID, task_id: uuid.UUID, rpc: Rpc) -> BackupTaskView:
    return rpc.tenancy.pause_backup_task(str(account_id), str(task_id))
