"""The port through which identity learns which tenant a new user joins: tenancy owns the
tree and decides what the caller may see (identity keeps no copy of it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.errors import NotFound
from servicekit.rpc_deadline import answered


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    kind: str
    name: str | None = None


class TenantDirectory(Protocol):
    def tenant(self, tenant_id: uuid.UUID) -> TenantRef:
        """The tenant, when the caller may see it; ``no_such_tenant()`` otherwise."""
        ...


def no_such_tenant() -> NotFound:
    return NotFound("tenant not found", {"fields": [{"field": "tenant_id", "reason": "not found"}]})


class TenancyDirectory:
    """Asks tenancy's ``get_tenant`` with the caller of the current call: tenancy's own scope
    check (the caller's subtree and accessible accounts) decides, not identity."""

    def __init__(self, tenancy_proxy: Any) -> None:
        self._tenancy = tenancy_proxy

    def tenant(self, tenant_id: uuid.UUID) -> TenantRef:
        try:
            with answered("tenancy did not answer: no user was created"):
                found = self._tenancy.get_tenant(str(tenant_id))
        except NotFound:
            raise no_such_tenant() from None
        return TenantRef(uuid.UUID(found["id"]), str(found["kind"]), found.get("name"))
