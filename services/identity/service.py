"""identity: users, credentials, sessions, 2FA, IP and password policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from contracts.errors import PermissionDenied, ValidationFailed
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging
from servicekit.rpc import rpc
from services.identity.bootstrap import bootstrap_operator, ensure_demo_administrator
from services.identity.passwords import MIN_LENGTH

configure_logging("identity")


class IdentityService(ServiceBase):
    name = "identity"

    db = Database(Path(__file__).parent / "migrations", on_start=bootstrap_operator)

    @rpc
    def seed_demo_administrator(self, tenant_id: str, email: str, password: str) -> dict[str, Any]:
        if not self.context.caller.is_system:
            raise PermissionDenied("the demo seed is for the operations tooling only")
        if len(password) < MIN_LENGTH:
            raise ValidationFailed.for_field("password", f"must be at least {MIN_LENGTH} characters")
        created = ensure_demo_administrator(
            self.db, parse_uuid(tenant_id, "tenant_id"), email, SecretStr(password)
        )
        return {"created": created}
