"""Operators' tenancy work: new distributors (with their first administrator), the trial clock."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.identity import UserView
from contracts.tenancy import (
    Address,
    ContactName,
    Country,
    DataCenter,
    DefaultSubscription,
    Email,
    Name,
    Phone,
    TenantProfile,
    TrialExpiryReply,
    TrialExpiryRequest,
)
from contracts.vocabulary import TenantKind
from gateway.auth import Operator
from gateway.deps import Rpc

router = APIRouter(prefix="/operator", tags=["operator"])
log = structlog.stdlib.get_logger("gateway.operator")


class DistributorRequest(BaseModel):
    name: Name
    email: Email
    country: Country
    data_center: DataCenter
    admin_email: Email
    admin_password: str = Field(min_length=1, max_length=1024)
    contact_name: ContactName | None = None
    address: Address | None = None
    phone: Phone | None = None
    default_subscription: DefaultSubscription = DefaultSubscription.TRIAL_EXPIRING


class DistributorCreated(BaseModel):
    distributor: TenantProfile
    administrator: UserView


@router.post(
    "/distributors",
    response_model=DistributorCreated,
    status_code=201,
    summary="Create a distributor with its first administrator (operators only)",
    description="Both or neither: when identity refuses the administrator (e.g. the email is in use, the "
    "password is too weak), the new distributor is deleted again and identity's error is answered.",
)
def create_distributor(body: DistributorRequest, operator: Operator, rpc: Rpc) -> DistributorCreated:
    tenant = body.model_dump(mode="json", exclude={"admin_email", "admin_password"})
    distributor = rpc.tenancy.create_distributor(tenant)
    user: dict[str, Any] = {
        "email": body.admin_email, "password": body.admin_password, "role": "administrator",
        "tenant_id": str(distributor.id), "tenant_kind": TenantKind.DISTRIBUTOR,
    }
    try:
        administrator = rpc.identity.create_user(user)
    except Exception:
        _undo_distributor(rpc, distributor)
        raise
    return DistributorCreated(distributor=distributor, administrator=administrator)


def _undo_distributor(rpc: Rpc, distributor: TenantProfile) -> None:
    try:
        rpc.tenancy.delete_distributor(str(distributor.id))
    except Exception as exc:  # the original error is what the caller needs to see
        log.error("distributor left without administrator", distributor_id=str(distributor.id),
                  error=type(exc).__name__)


@router.post(
    "/jobs/trial-expiry",
    response_model=TrialExpiryReply,
    summary="Run the trial clock now, as of a given moment (default now)",
    description="Moves every trial that ended at or before `as_of`: auto-subscribes or expires it. "
    "The same job runs every minute by itself; this is the controllable clock for tests and support.",
)
def run_trial_expiry(body: TrialExpiryRequest, operator: Operator, rpc: Rpc) -> TrialExpiryReply:
    return rpc.tenancy.run_trial_expiry(body.to_wire())
