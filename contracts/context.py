"""The caller context that travels with every RPC call and event (nameko context data)."""

from __future__ import annotations

import uuid

from contracts.base import WireModel

CORRELATION_ID_KEY = "correlation_id"
CALLER_KEY = "caller"


class Caller(WireModel):
    """Who is calling: each service re-checks tenant scope against this itself."""

    user_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    email: str | None = None
    role: str | None = None
    tenant_kind: str | None = None
    permissions: list[str] | None = None
    # None = every account in the caller's subtree; a list = the only accounts that exist for it.
    accessible_accounts: list[uuid.UUID] | None = None
    session_id: uuid.UUID | None = None
    # Set for the backup engine's ingest calls (API key), instead of a user.
    engine_key_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    is_system: bool = False

# The root of the tenant tree (the vendor's operators). A fixed id, so identity and
# tenancy agree on it without asking each other.
OPERATOR_TENANT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
