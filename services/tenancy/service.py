"""tenancy: the tenant tree, customer accounts, trials, backup tasks and roll-ups."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from contracts.errors import PermissionDenied
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging
from servicekit.rpc import rpc
from services.tenancy.demo import seed_demo_tree
from services.tenancy.handlers import ensure_operator_root, visible_tenant

configure_logging("tenancy")


class TenancyService(ServiceBase):
    name = "tenancy"

    db = Database(Path(__file__).parent / "migrations", on_start=ensure_operator_root)

    @rpc
    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        tenant = visible_tenant(self.db, self.context, parse_uuid(tenant_id, "tenant_id"))
        return {
            "id": str(tenant.id),
            "parent_id": str(tenant.parent_id) if tenant.parent_id else None,
            "kind": tenant.kind,
            "name": tenant.name,
            "email": tenant.email,
            "code": tenant.code,
        }

    @rpc
    def seed_demo(self) -> dict[str, Any]:
        if not self.context.caller.is_system:
            raise PermissionDenied("the demo seed is for the operations tooling only")
        return asdict(seed_demo_tree(self.db))
