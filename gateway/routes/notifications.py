"""Notifications of the caller's tenant: recipients, report settings, and reports' CSV links."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from contracts.notify import (
    NotificationSettings,
    NotificationType,
    RecipientPage,
    RecipientRequest,
    RecipientUpdate,
    RecipientView,
)
from contracts.vocabulary import Permission
from gateway.auth import require_permission
from gateway.deps import Rpc
from gateway.errors import ErrorResponse, error_response

router = APIRouter(prefix="/notifications", tags=["notifications"])
can_manage = Depends(require_permission(Permission.MANAGE_NOTIFICATIONS))


@router.get("/recipients", response_model=RecipientPage, dependencies=[can_manage])
def list_recipients(
    rpc: Rpc,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
    only: Annotated[NotificationType | None, Query(alias="type", description="only recipients of this type")] = None,
) -> RecipientPage:
    query = {"page": page, "page_size": page_size, "type": only.value if only else None}
    return rpc.notify.list_recipients(query)


@router.post("/recipients", response_model=RecipientView, status_code=201, dependencies=[can_manage],
             responses={409: {"model": ErrorResponse, "description": "the address is already a recipient"}})
def add_recipient(body: RecipientRequest, rpc: Rpc) -> RecipientView:
    return rpc.notify.add_recipient(body.to_wire())


@router.patch("/recipients/{recipient_id}", response_model=RecipientView, dependencies=[can_manage])
def update_recipient(recipient_id: uuid.UUID, body: RecipientUpdate, rpc: Rpc) -> RecipientView:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return rpc.notify.update_recipient(str(recipient_id), changes)


@router.delete("/recipients/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[can_manage])
def remove_recipient(recipient_id: uuid.UUID, rpc: Rpc) -> Response:
    rpc.notify.remove_recipient(str(recipient_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/settings", response_model=NotificationSettings, dependencies=[can_manage])
def get_settings(rpc: Rpc) -> NotificationSettings:
    return rpc.notify.get_notification_settings()


@router.put("/settings", response_model=NotificationSettings, dependencies=[can_manage],
            summary="Report frequency (daily, weekly, monthly) and the CSV detail as attachment or link")
def put_settings(body: NotificationSettings, rpc: Rpc) -> NotificationSettings:
    return rpc.notify.put_notification_settings(body.to_wire())


@router.get(
    "/reports/{report_id}.csv",
    response_class=Response,
    summary="A report's CSV detail through the signed link of its mail (no sign-in: the signature is the credential)",
    responses={200: {"content": {"text/csv": {}}}, 403: {"model": ErrorResponse}, 410: {"model": ErrorResponse}},
)
def report_csv(
    report_id: uuid.UUID,
    rpc: Rpc,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    if expires < time.time():
        # Nothing secret in saying so: the expiry is in the link itself.
        return error_response(410, "link_expired", "this link has expired; the report's CSV is no longer served")
    csv = rpc.notify.get_report_csv(str(report_id), expires, signature)
    return Response(
        csv.content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{csv.filename}"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
