"""Security settings of the caller's tenant: password policy and IP restrictions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from contracts.errors import NotFound
from contracts.identity import (
    IpAddresses,
    IpBound,
    IpDescription,
    IpEntryRequest,
    IpRestrictionsView,
    PasswordPolicyView,
)
from contracts.vocabulary import Permission
from gateway.auth import Administrator, require_permission
from gateway.deps import Rpc

router = APIRouter(prefix="/security", tags=["security"])
can_view_settings = Depends(require_permission(Permission.VIEW_SETTINGS))


class EnabledRequest(BaseModel):
    enabled: bool


class IpEntryPatch(BaseModel):
    description: IpDescription | None = None
    addresses: IpAddresses | None = None
    range_from: IpBound | None = None
    range_to: IpBound | None = None


@router.get("/password-policy", response_model=PasswordPolicyView, dependencies=[can_view_settings])
def get_password_policy(rpc: Rpc) -> PasswordPolicyView:
    return rpc.identity.get_password_policy()


@router.put("/password-policy", response_model=PasswordPolicyView, summary="Password expiration for all users")
def set_password_policy(body: PasswordPolicyView, admin: Administrator, rpc: Rpc) -> PasswordPolicyView:
    return rpc.identity.set_password_policy(body.to_wire())


@router.get(
    "/ip-restrictions",
    response_model=IpRestrictionsView,
    dependencies=[can_view_settings],
    summary="Trusted addresses and ranges; `your_ip` is the address this request came from",
)
def get_ip_restrictions(rpc: Rpc) -> IpRestrictionsView:
    return rpc.identity.get_ip_restrictions()


@router.put(
    "/ip-restrictions",
    response_model=IpRestrictionsView,
    summary="Turn IP restrictions on or off",
    responses={409: {"description": "`own_ip_not_trusted`: your own address would be locked out"}},
)
def set_ip_restrictions(body: EnabledRequest, admin: Administrator, rpc: Rpc) -> IpRestrictionsView:
    return rpc.identity.set_ip_restrictions(body.enabled)


@router.post(
    "/ip-restrictions/entries",
    response_model=IpRestrictionsView,
    status_code=201,
    summary="Add single addresses (`\"a, b, c\"`) or a range (`range_from`, `range_to`)",
    responses={409: {"description": "`own_ip_not_trusted` while restrictions are on"}},
)
def add_ip_entry(body: IpEntryRequest, admin: Administrator, rpc: Rpc) -> IpRestrictionsView:
    return rpc.identity.add_ip_entry(body.to_wire())


@router.patch("/ip-restrictions/entries/{entry_id}", response_model=IpRestrictionsView)
def update_ip_entry(entry_id: uuid.UUID, body: IpEntryPatch, admin: Administrator, rpc: Rpc) -> IpRestrictionsView:
    current = rpc.identity.get_ip_restrictions()
    existing = next((e for e in current.entries if e.id == entry_id), None)
    if existing is None:
        raise NotFound("IP restriction entry not found")
    merged = existing.model_dump(exclude={"id"})
    changes = body.model_dump(exclude_unset=True)
    if "addresses" in changes:  # switching an entry between a list and a range
        merged["range_from"] = merged["range_to"] = None
    if "range_from" in changes or "range_to" in changes:
        merged["addresses"] = None
    merged.update(changes)
    request = IpEntryRequest.model_validate(merged)
    return rpc.identity.update_ip_entry(str(entry_id), request.to_wire())


@router.delete("/ip-restrictions/entries/{entry_id}", response_model=IpRestrictionsView)
def delete_ip_entry(entry_id: uuid.UUID, admin: Administrator, rpc: Rpc) -> IpRestrictionsView:
    return rpc.identity.delete_ip_entry(str(entry_id))
