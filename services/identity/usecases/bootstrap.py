"""First start: create the vendor's operator account from settings, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import EmailStr, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.context import OPERATOR_TENANT_ID
from contracts.events import IdentityEvent
from contracts.vocabulary import TenantKind
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.identity.adapters.models import User
from services.identity.adapters.password_hashing import hash_off_the_hub

log = get_logger(__name__)


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_OPERATOR_", extra="ignore")

    email: EmailStr | None = None
    password: SecretStr | None = Field(default=None, min_length=8)


def bootstrap_operator(uow: UnitOfWork, settings: OperatorSettings | None = None) -> uuid.UUID | None:
    """Create the operator administrator if none exists; returns its id when created."""
    settings = settings or OperatorSettings()
    if settings.email is None or settings.password is None:
        log.info("no operator configured (PORTAL_OPERATOR_EMAIL/PASSWORD unset)")
        return None
    exists = uow.session.execute(sa.select(User.id).where(User.tenant_id == OPERATOR_TENANT_ID).limit(1)).first()
    if exists is not None:
        return None
    user = _confirmed_administrator(OPERATOR_TENANT_ID, str(settings.email), settings.password, "Operator")
    user.tenant_kind = TenantKind.OPERATOR
    uow.session.add(user)
    uow.emit(
        IdentityEvent.OPERATOR_BOOTSTRAPPED,
        {"user_id": str(user.id), "email": user.email},
        tenant_id=OPERATOR_TENANT_ID,
    )
    uow.commit()
    log.info("operator created", user_id=str(user.id))
    return user.id


def ensure_demo_administrator(uow: UnitOfWork, tenant_id: uuid.UUID, email: str, password: SecretStr) -> bool:
    """The demo distributor's administrator (``portal seed``); True when newly created."""
    if uow.session.execute(sa.select(User.id).where(User.email_normalised == email.lower())).first():
        return False
    user = _confirmed_administrator(tenant_id, email, password, "Demo Administrator")
    user.tenant_kind = TenantKind.DISTRIBUTOR
    uow.session.add(user)
    uow.emit(
        IdentityEvent.USER_CREATED,
        {"user_id": str(user.id), "email": user.email, "role": user.role, "tenant_id": str(tenant_id)},
        tenant_id=tenant_id,
    )
    uow.commit()
    return True


def _confirmed_administrator(tenant_id: uuid.UUID, email: str, password: SecretStr, name: str) -> User:
    now = datetime.now(UTC)
    # argon2 is CPU-bound: hash off the eventlet hub (docs/runtime-traps.md §10).
    password_hash = hash_off_the_hub(password.get_secret_value())
    return User(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        email=email,
        email_normalised=email.lower(),
        display_name=name,
        credential_type="password",
        password_hash=password_hash,
        password_changed_at=now,
        role="administrator",
        email_confirmed_at=now,
        created_at=now,
    )
