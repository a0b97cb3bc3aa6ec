"""The demo tenant's users and security settings, seeded by ``portal seed`` (idempotent).

Besides the administrator: custom users with different permissions, one with 2FA on (its
TOTP secret is a published demo value so a person can add it to an authenticator app),
one invitation still waiting for confirmation, and an IP restriction list that is shown
but not switched on (switching it on is the visitor's decision).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from contracts.errors import PermissionDenied, ValidationFailed
from contracts.events import IdentityEvent
from contracts.vocabulary import Permission, TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.identity.adapters.models import IpEntryRow, IpPolicy, RecoveryCode, User
from services.identity.adapters.password_hashing import hash_off_the_hub
from services.identity.adapters.secrets_box import SecretBox
from services.identity.domain import totp
from services.identity.domain.password_rules import MIN_LENGTH
from services.identity.usecases.bootstrap import ensure_demo_administrator

# Published on purpose: it protects only the demo user in a demo install.
DEMO_TOTP_SECRET = "NORTHWINDDEMOTOTPSECRETAAAAAAAAA"  # noqa: S105

DEMO_USERS = (
    # email local part, name, permissions, two-factor, confirmed
    ("billing", "Bea Billing",
     [Permission.VIEW_BILLING, Permission.VIEW_BILLING_NOTIFICATIONS, Permission.VIEW_DASHBOARD], False, True),
    ("security", "Sam Security",
     [Permission.VIEW_SECURITY_AUDIT, Permission.VIEW_SETTINGS, Permission.VIEW_DASHBOARD], True, True),
    ("sales", "Sol Sales",
     [Permission.VIEW_DASHBOARD, Permission.ADD_ACCOUNTS, Permission.SUBSCRIBE_ACCOUNTS,
      Permission.ACCOUNT_VIEW_SETTINGS],
     False, True),
    ("new.hire", "Nia New", [Permission.VIEW_DASHBOARD], False, False),
)
DEMO_IP_ENTRIES = (
    ("Head office", None, "203.0.113.0", "203.0.113.255"),
    ("VPN gateways", "198.51.100.10, 198.51.100.11", None, None),
    ("Head office (IPv6)", None, "2001:db8:100::", "2001:db8:100::ffff"),
)


def seed_demo_users(uow: UnitOfWork, tenant_id: uuid.UUID, domain: str, password: SecretStr,
                    box: SecretBox) -> list[str]:
    """Creates whichever demo users are missing; returns the emails it created."""
    now = datetime.now(UTC)
    created = []
    password_hash = None
    for local, name, permissions, two_factor, confirmed in DEMO_USERS:
        email = f"{local}@{domain}"
        if uow.session.execute(sa.select(User.id).where(User.email_normalised == email)).first():
            continue
        password_hash = password_hash or hash_off_the_hub(password.get_secret_value())
        user = User(
            id=uuid.uuid4(), tenant_id=tenant_id, tenant_kind=TenantKind.DISTRIBUTOR, email=email,
            email_normalised=email,
            display_name=name, credential_type="password", password_hash=password_hash if confirmed else None,
            password_changed_at=now if confirmed else None, role="custom", permissions=sorted(permissions),
            email_confirmed_at=now if confirmed else None, created_at=now,
        )
        uow.session.add(user)
        if two_factor:
            user.totp_secret_encrypted = box.seal(DEMO_TOTP_SECRET)
            user.totp_enabled_at = now
            uow.session.flush()
            uow.session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(code))
                                for code in totp.new_recovery_codes())
        uow.emit(IdentityEvent.USER_CREATED, {"user_id": str(user.id), "email": email, "role": "custom",
                                              "credential_type": "password", "permissions": user.permissions},
                 tenant_id=tenant_id)
        created.append(email)
    if uow.session.get(IpPolicy, tenant_id) is None:
        uow.session.add(IpPolicy(tenant_id=tenant_id, enabled=False, updated_at=now))
        for description, addresses, range_from, range_to in DEMO_IP_ENTRIES:
            uow.session.add(IpEntryRow(
                id=uuid.uuid4(), tenant_id=tenant_id, description=description, created_at=now,
                addresses=[a.strip() for a in addresses.split(",")] if addresses else [],
                range_from=range_from, range_to=range_to,
            ))
    uow.commit()
    return created


def seed_demo(uow: UnitOfWork, ctx: CallContext, tenant_id: uuid.UUID, email: str, password: str,
              box: SecretBox) -> dict[str, Any]:
    """The demo distributor's administrator and users (``portal seed``; the operations tooling only)."""
    if not ctx.caller.is_system:
        raise PermissionDenied("the demo seed is for the operations tooling only")
    if len(password) < MIN_LENGTH:
        raise ValidationFailed.for_field("password", f"must be at least {MIN_LENGTH} characters")
    created = ensure_demo_administrator(uow, tenant_id, email, SecretStr(password))
    users_created = seed_demo_users(uow, tenant_id, email.split("@")[-1], SecretStr(password), box)
    return {"created": created or bool(users_created), "users": [user[0] for user in DEMO_USERS],
            "two_factor_secret": DEMO_TOTP_SECRET}
