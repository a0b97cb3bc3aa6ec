"""Partners of the caller's distributor: add, read, edit (their accounts: routes/accounts.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from contracts.tenancy import PartnerCreateRequest, TenantProfile, TenantProfileUpdate
from gateway.auth import require_permission
from gateway.deps import IdempotencyKey, Rpc, keyed

router = APIRouter(tags=["partners"])
can_add = Depends(require_permission("add_accounts"))
can_view = Depends(require_permission("view_dashboard"))


@router.post(
    "/partners",
    response_model=TenantProfile,
    status_code=201,
    dependencies=[can_add],
    summary="Add a partner; its first administrator is invited at the partner's email",
    responses={409: {"description": "`conflict`: the email is already in use anywhere in the portal"}},
)
def create_partner(body: PartnerCreateRequest, rpc: Rpc, idempotency_key: IdempotencyKey = None) -> TenantProfile:
    return TenantProfile.from_wire(rpc.call("tenancy", "create_partner", body.to_wire(), **keyed(idempotency_key)))


@router.get("/partners/{partner_id}", response_model=TenantProfile, dependencies=[can_view])
def get_partner(partner_id: uuid.UUID, rpc: Rpc) -> TenantProfile:
    return TenantProfile.from_wire(rpc.call("tenancy", "get_partner", str(partner_id)))


@router.patch(
    "/partners/{partner_id}",
    response_model=TenantProfile,
    dependencies=[can_add],
    summary="Change the given fields; `data_center` only by an operator",
)
def update_partner(partner_id: uuid.UUID, body: TenantProfileUpdate, rpc: Rpc) -> TenantProfile:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return TenantProfile.from_wire(rpc.call("tenancy", "update_partner", str(partner_id), changes))
