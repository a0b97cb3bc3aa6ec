"""Backup Radar: an operator switches it on for a distributor; the distributor's administrators
set the endpoint (its ``whsec_`` secret is shown to them only); the delivery log and replay."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from contracts.errors import PermissionDenied
from contracts.identity import Principal
from contracts.notify import BackupRadarUpdate, BackupRadarView, DeliveryPage, DeliveryStatus, DeliveryView
from contracts.vocabulary import Permission, TenantKind
from gateway.auth import Authorised, is_administrator
from gateway.deps import Rpc
from gateway.errors import ErrorResponse

router = APIRouter(prefix="/integrations/backup-radar", tags=["integrations"])

MANAGE_NOTIFICATIONS = Permission.MANAGE_NOTIFICATIONS
DistributorId = Annotated[uuid.UUID | None, Query(description="operators: whose integration")]


def operator_or_manager(principal: Authorised) -> Principal:
    """An operator's administrator, or a distributor's user who may manage notifications."""
    user = principal.user
    if user.tenant_kind == TenantKind.OPERATOR and is_administrator(principal):
        return principal
    if user.tenant_kind != TenantKind.DISTRIBUTOR:
        raise PermissionDenied("Backup Radar is a distributor's integration")
    if is_administrator(principal) or MANAGE_NOTIFICATIONS in user.permissions:
        return principal
    raise PermissionDenied(f"you need the '{MANAGE_NOTIFICATIONS}' permission")


allowed = Depends(operator_or_manager)


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


@router.get("", response_model=BackupRadarView, dependencies=[allowed],
            summary="The integration; `secret` only for the distributor's administrators")
def get_backup_radar(rpc: Rpc, distributor_id: DistributorId = None) -> BackupRadarView:
    return rpc.notify.get_backup_radar(_id(distributor_id))


@router.put(
    "",
    response_model=BackupRadarView,
    dependencies=[allowed],
    summary="Operators: `enabled` (with `distributor_id`). Distributor administrators: `url`, "
            "`report_email`, `rotate_secret`",
    responses={409: {"model": ErrorResponse, "description": "not switched on by an operator yet"},
               422: {"model": ErrorResponse, "description": "the URL is refused (https only, public addresses)"}},
)
def put_backup_radar(body: BackupRadarUpdate, rpc: Rpc) -> BackupRadarView:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return rpc.notify.update_backup_radar(changes)


@router.get("/deliveries", response_model=DeliveryPage, dependencies=[allowed])
def list_deliveries(
    rpc: Rpc,
    distributor_id: DistributorId = None,
    status: DeliveryStatus | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> DeliveryPage:
    query = {"distributor_id": _id(distributor_id), "status": status.value if status else None, "page": page,
             "page_size": page_size}
    return rpc.notify.list_webhook_deliveries(query)


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryView, status_code=202,
             dependencies=[allowed], summary="Send the message again now: same webhook-id, fresh retries",
             responses={409: {"model": ErrorResponse, "description": "the endpoint is not active"}})
def replay_delivery(delivery_id: uuid.UUID, rpc: Rpc, distributor_id: DistributorId = None) -> DeliveryView:
    return rpc.notify.replay_webhook_delivery(delivery_id, _id(distributor_id))


@router.post("/test", response_model=DeliveryView, status_code=202, dependencies=[allowed],
             summary="Queue a signed test event (`portal.test`) for the endpoint; it shows in the delivery log",
             responses={409: {"model": ErrorResponse, "description": "the endpoint is not active"}})
def send_test_event(rpc: Rpc, distributor_id: DistributorId = None) -> DeliveryView:
    return rpc.notify.send_backup_radar_test(_id(distributor_id))
