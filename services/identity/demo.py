"""The demo tenant's users and security settings, seeded by ``portal seed`` (idempotent).

Besides the administrator: custom users with different permissions, one with 2FA on (its
TOTP secret is a published demo value so a person can add it to an authenticator app),
one invitation still waiting for confirmation, and an IP restriction list that is shown
but not switched on (switching it on is the visitor's decision).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from eventlet import tpool
from pydantic import SecretStr

from contracts.events import IdentityEvent
from servicekit.db import UnitOfWork
from services.identity import totp
from services.identity.adapters.models import IpEntryRow, IpPolicy, RecoveryCode, User
from services.identity.passwords import hash_password
from services.identity.secrets_box import SecretBox

# Published on purpose: it protects only the demo user in a demo install.
DEMO_TOTP_SECRET = "NORTHWINDDEMOTOTPSECRETAAAAAAAAA"  # noqa: S105

DEMO_USERS = (
    # email local part, name, permissions, two-factor, confirmed
    ("billing", "Bea Billing", ["view_billing", "view_billing_notifications", "view_dashboard"], False, True),
    ("security", "Sam Security", ["view_security_audit", "view_settings", "view_dashboard"], True, True),
    ("sales", "Sol Sales", ["view_dashboard", "add_accounts", "subscribe_accounts", "account_view_settings"],
     False, True),
    ("new.hire", "Nia New", ["view_dashboard"], False, False),
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
        password_hash = password_hash or tpool.execute(hash_password, password.get_secret_value())
        user = User(
            id=uuid.uuid4(), tenant_id=tenant_id, tenant_kind="distributor", email=email, email_normalised=email,
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
