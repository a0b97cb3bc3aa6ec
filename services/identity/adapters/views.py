"""Rows → contract views; and the policy look-ups several use cases share."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.identity import IpEntryView, UserView
from services.identity.adapters.models import IpEntryRow, IpPolicy, PasswordPolicy, User
from services.identity.domain.ip_policy import IpEntry
from services.identity.domain.permissions import ALL_PERMISSIONS, Role


def user_view(user: User) -> UserView:
    is_admin = user.role == Role.ADMINISTRATOR.value
    return UserView(
        id=user.id,
        tenant_id=user.tenant_id,
        tenant_kind=user.tenant_kind,
        email=user.email,
        display_name=user.display_name,
        credential_type=user.credential_type,  # type: ignore[arg-type]
        role=user.role,  # type: ignore[arg-type]  # checked on write
        permissions=sorted(ALL_PERMISSIONS if is_admin else user.permissions or []),
        accessible_accounts="all"
        if user.accessible_accounts is None
        else [uuid.UUID(a) for a in user.accessible_accounts],
        email_confirmed=user.email_confirmed_at is not None,
        two_factor_enabled=user.totp_enabled_at is not None,
        created_at=user.created_at,
    )


def ip_entry_view(row: IpEntryRow) -> IpEntryView:
    return IpEntryView(
        id=row.id,
        description=row.description,
        addresses=", ".join(row.addresses) if row.addresses else None,
        range_from=row.range_from,
        range_to=row.range_to,
    )


def ip_entry_domain(row: IpEntryRow) -> IpEntry:
    return IpEntry.build(
        row.description, ", ".join(row.addresses) if row.addresses else None, row.range_from, row.range_to
    )


def ip_rules(session: Session, tenant_id: uuid.UUID) -> tuple[bool, list[IpEntryRow]]:
    policy = session.get(IpPolicy, tenant_id)
    rows = list(
        session.execute(
            sa.select(IpEntryRow).where(IpEntryRow.tenant_id == tenant_id).order_by(IpEntryRow.created_at)
        ).scalars()
    )
    return (policy.enabled if policy else False), rows


def password_policy(session: Session, tenant_id: uuid.UUID) -> PasswordPolicy:
    return session.get(PasswordPolicy, tenant_id) or PasswordPolicy(
        tenant_id=tenant_id, expiration_enabled=False, max_age_days=90
    )


def is_password_expired(session: Session, user: User, now: datetime) -> bool:
    if user.password_hash is None or user.password_changed_at is None:
        return False
    policy = password_policy(session, user.tenant_id)
    if not policy.expiration_enabled:
        return False
    return user.password_changed_at + timedelta(days=policy.max_age_days) < now
