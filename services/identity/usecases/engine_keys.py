"""API keys for the backup engine's ingest calls: issued by operators, stored as hashes."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from contracts.errors import NotAuthenticated, PermissionDenied
from contracts.events import IdentityEvent
from contracts.identity import EngineIdentity, EngineKeyCreated, EngineKeyRequest
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.identity.adapters.models import EngineKey
from services.identity.domain.tokens import hash_token, new_token
from services.identity.usecases.authentication import utc_now
from services.identity.usecases.users import require_administrator

KEY_PREFIX = "bre_"


def create_engine_key(uow: UnitOfWork, ctx: CallContext, request: EngineKeyRequest) -> EngineKeyCreated:
    admin = require_administrator(uow, ctx)
    if admin.tenant_kind != TenantKind.OPERATOR:
        raise PermissionDenied("only an operator issues engine keys")
    key = KEY_PREFIX + new_token()
    row = EngineKey(id=uuid.uuid4(), name=request.name, key_hash=hash_token(key), created_at=utc_now(),
                    created_by=admin.id)
    uow.session.add(row)
    uow.emit(IdentityEvent.ENGINE_KEY_CREATED, {"key_id": str(row.id), "name": row.name}, tenant_id=admin.tenant_id)
    uow.commit()
    return EngineKeyCreated(id=row.id, name=row.name, key=key, created_at=row.created_at)


def check_engine_key(uow: UnitOfWork, key: str) -> EngineIdentity:
    if not key.startswith(KEY_PREFIX):
        raise NotAuthenticated("not an engine key")
    row = uow.session.execute(
        sa.select(EngineKey).where(EngineKey.key_hash == hash_token(key), EngineKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        raise NotAuthenticated("unknown or revoked engine key")
    return EngineIdentity(key_id=row.id, name=row.name)
