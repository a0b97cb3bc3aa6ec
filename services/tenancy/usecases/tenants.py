"""One tenant of the tree as the caller may see it (the gateway resolves tenants with it)."""

from __future__ import annotations

import uuid
from typing import Any

from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.usecases.access import authorise, visible_tenant


def get_tenant(uow: UnitOfWork, ctx: CallContext, tenant_id: uuid.UUID) -> dict[str, Any]:
    tenant = visible_tenant(uow, authorise(uow, ctx), tenant_id)
    return {
        "id": str(tenant.id),
        "parent_id": str(tenant.parent_id) if tenant.parent_id else None,
        "kind": tenant.kind,
        "name": tenant.name,
        "email": tenant.email,
        "code": tenant.code,
    }
