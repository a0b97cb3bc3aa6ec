"""Use cases of the tenant tree. Each takes a unit of work and commits it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from contracts.events import TenancyEvent
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.models import Tenant
from services.tenancy.tree import TenantKind, child_path, is_within, may_have_parent, new_partner_code, root_path


@dataclass(frozen=True)
class NewTenant:
    kind: TenantKind
    parent_id: uuid.UUID
    name: str
    email: str | None = None
    country: str | None = None
    data_center: str | None = None


def ensure_operator_root(uow: UnitOfWork) -> Tenant:
    """The root of the tree exists from the first start on (idempotent)."""
    root = uow.session.get(Tenant, OPERATOR_TENANT_ID)
    if root is None:
        root = Tenant(
            id=OPERATOR_TENANT_ID,
            parent_id=None,
            kind=TenantKind.OPERATOR,
            name="Operator",
            path=root_path(OPERATOR_TENANT_ID),
            depth=0,
            created_at=datetime.now(UTC),
        )
        uow.session.add(root)
        uow.commit()
    return root


def create_tenant(uow: UnitOfWork, new: NewTenant) -> Tenant:
    session = uow.session
    parent = session.get(Tenant, new.parent_id)
    if parent is None:
        raise NotFound("parent tenant not found", {"field": "parent_id"})
    if not may_have_parent(new.kind, TenantKind(parent.kind)):
        raise ValidationFailed.for_field("parent_id", f"a {new.kind} cannot be created under a {parent.kind}")
    normalised = new.email.lower() if new.email else None
    if normalised and session.execute(
        sa.select(Tenant.id).where(Tenant.email_normalised == normalised)
    ).first():
        raise Conflict("email is already in use", {"fields": [{"field": "email", "reason": "already in use"}]})
    tenant_id = uuid.uuid4()
    tenant = Tenant(
        id=tenant_id,
        parent_id=parent.id,
        kind=new.kind,
        name=new.name,
        email=new.email,
        email_normalised=normalised,
        code=new_partner_code() if new.kind is TenantKind.PARTNER else None,
        country=new.country,
        data_center=new.data_center,
        path=child_path(parent.path, tenant_id),
        depth=parent.depth + 1,
        created_at=datetime.now(UTC),
    )
    session.add(tenant)
    uow.emit(
        TenancyEvent.TENANT_CREATED,
        {
            "tenant_id": str(tenant.id),
            "parent_id": str(parent.id),
            "kind": str(tenant.kind),
            "name": tenant.name,
            "code": tenant.code,
        },
        tenant_id=parent.id,
    )
    return tenant


def visible_tenant(uow: UnitOfWork, ctx: CallContext, tenant_id: uuid.UUID) -> Tenant:
    """A tenant the caller may see: its own or one below it; anything else does not exist."""
    tenant = uow.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    if ctx.caller.is_system:
        return tenant
    if ctx.caller.tenant_id is None:
        raise PermissionDenied("no caller tenant")
    own = uow.session.get(Tenant, ctx.caller.tenant_id)
    if own is None or not is_within(tenant.path, own.path):
        raise NotFound("tenant not found")
    return tenant


def subtree_size(uow: UnitOfWork, tenant: Tenant) -> int:
    return uow.session.execute(
        sa.select(sa.func.count()).select_from(Tenant).where(Tenant.path.startswith(tenant.path, autoescape=True))
    ).scalar_one()
