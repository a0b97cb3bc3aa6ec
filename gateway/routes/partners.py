"""Partners of the caller's distributor: add, read, edit (their accounts: routes/accounts.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from contracts.tenancy import PartnerCreateRequest, TenantProfile, TenantProfileUpdate
from contracts.vocabulary import Permission
from gateway.auth import require_permission
from gateway.deps import IdempotencyKey, Rpc

router = APIRouter(tags=["partners"])
can_add = Depends(require_permission(Permission.ADD_ACCOUNTS))
can_view = Depends(require_permission(Permission.VIEW_DASHBOARD))


@router.post(
    "/partners",
    response_model=TenantProfile,
    status_code=201,
    dependencies=[can_add],
    summary="Add a partner; its first administrator is invited at the partner's email",
    responses={409: {"description": "`conflict`: the email is already in use anywhere in the portal"}},
)
def create_partner(body: PartnerCreateRequest, rpc: Rpc, idempotency_key: IdempotencyKey = None) -> TenantProfile:
    return rpc.tenancy.create_partner(body.to_wire(), idempotency_key=idempotency_key)


@router.get("/partners/{partner_id}", response_model=TenantProfile, dependencies=[can_view])
def get_partner(partner_id: uuid.UUID, rpc: Rpc) -> TenantProfile:
    return rpc.tenancy.get_partner(str(partner_id))


@router.patch(
    "/partners/{partner_id}",
    response_model=TenantProfile,
    dependencies=[can_add],
    summary="Change the given fields; `data_center` only by an operator",
)
def update_partner(partner_id: uuid.UUID, body: TenantProfileUpdate, rpc: Rpc) -> TenantProfile:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return rpc.tenancy.update_partner(str(partner_id), changes)
