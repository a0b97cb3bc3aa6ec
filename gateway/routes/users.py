"""User management of the caller's tenant (administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from contracts.identity import CreateUserRequest, UpdateUserRequest, UserPage, UserSort, UserView
from gateway.auth import Administrator, revoking
from gateway.deps import IdempotencyKey, Rpc

router = APIRouter(prefix="/users", tags=["users"])


class ResendReply(BaseModel):
    mail_queued: bool


@router.get("", response_model=UserPage)
def list_users(
    admin: Administrator,
    rpc: Rpc,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
    search: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[UserSort, Query(description="email, name or role; `-` for descending")] = "email",
) -> UserPage:
    return rpc.identity.list_users(page, page_size, search, sort)


@router.post(
    "", response_model=UserView, status_code=201,
    summary="Invite a user: a confirmation mail with a link valid 24 hours goes out",
    description="`tenant_id` names the tenant the user joins: the caller's own (the default), or a partner or "
    "customer account below it. The answer's `tenant_id` and `tenant_kind` say which it became.",
    responses={404: {"description": "`not_found` naming `tenant_id`: no such tenant within the caller's scope"},
               409: {"description": "`conflict` naming `email`: a user already has this email"},
               422: {"description": "naming `permissions`: e.g. billing permissions for a partner's or "
                                    "customer account's user"}},
)
def create_user(body: CreateUserRequest, admin: Administrator, rpc: Rpc,
                idempotency_key: IdempotencyKey = None) -> UserView:
    wire = body.to_wire()
    # The kind is tenancy's to say (identity asks it); only tenancy-driven creation names one.
    wire.pop("tenant_kind", None)
    return rpc.identity.create_user(wire, idempotency_key=idempotency_key)


@router.get("/{user_id}", response_model=UserView)
def get_user(user_id: uuid.UUID, admin: Administrator, rpc: Rpc) -> UserView:
    return rpc.identity.get_user(str(user_id))


@router.patch("/{user_id}", response_model=UserView)
def update_user(user_id: uuid.UUID, body: UpdateUserRequest, request: Request, admin: Administrator,
                rpc: Rpc) -> UserView:
    with revoking(request, user_id):  # a new role, permissions or accounts count from the next request
        return rpc.identity.update_user(str(user_id), body.model_dump(mode="json", exclude_unset=True))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: uuid.UUID, request: Request, admin: Administrator, rpc: Rpc) -> Response:
    with revoking(request, user_id):
        rpc.identity.delete_user(str(user_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id}/resend-confirmation", response_model=ResendReply)
def resend_confirmation(user_id: uuid.UUID, admin: Administrator, rpc: Rpc) -> ResendReply:
    return ResendReply.model_validate(rpc.identity.resend_confirmation(user_id))
