"""Settings > Account: the caller's own distributor, partner or customer account profile."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from contracts.identity import Principal
from contracts.tenancy import TenantProfile, TenantProfileUpdate
from contracts.vocabulary import Permission, TenantKind
from gateway.auth import Administrator, Authorised, require_permission
from gateway.deps import Rpc

router = APIRouter(prefix="/settings", tags=["settings"])


async def can_view_settings(principal: Authorised) -> Principal:
    """"View settings" above a customer account; in one, "View Account setting page"."""
    wanted = (Permission.ACCOUNT_VIEW_SETTINGS if principal.user.tenant_kind == TenantKind.ACCOUNT
              else Permission.VIEW_SETTINGS)
    return await require_permission(wanted)(principal)


@router.get(
    "/account",
    response_model=TenantProfile,
    dependencies=[Depends(can_view_settings)],
    summary="Name, email, address, phone, default subscription; the storage location (read-only)",
)
def get_account_settings(rpc: Rpc, tenant_id: uuid.UUID | None = None) -> TenantProfile:
    args = [str(tenant_id)] if tenant_id is not None else []
    return rpc.tenancy.get_account_settings(*args)


@router.put(
    "/account",
    response_model=TenantProfile,
    summary="Change the given fields; `data_center` is read-only except to an operator (`tenant_id`)",
    responses={422: {"description": "`validation_failed` naming `data_center` for anyone but an operator"}},
)
def update_account_settings(body: TenantProfileUpdate, admin: Administrator, rpc: Rpc,
                            tenant_id: uuid.UUID | None = None) -> TenantProfile:
    changes = body.model_dump(mode="json", exclude_unset=True)
    args = [str(tenant_id)] if tenant_id is not None else []
    return rpc.tenancy.update_account_settings(changes, *args)
