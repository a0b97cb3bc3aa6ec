"""The demo seed's users and security settings (services/identity/usecases/demo.py), on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from contracts.errors import TwoFactorRequired
from contracts.identity import SignInRequest
from services.identity.adapters.models import IpEntryRow, IpPolicy, RecoveryCode, User
from services.identity.adapters.secrets_box import load_secret_box
from services.identity.domain import totp
from services.identity.settings import IdentitySettings
from services.identity.usecases import authentication as auth
from services.identity.usecases.demo import DEMO_TOTP_SECRET, seed_demo_users

TENANT = uuid.uuid4()
DOMAIN = "northwind-backup.example"
PASSWORD = "northwind-demo-2026"


def seed(identity_db) -> list[str]:
    return seed_demo_users(identity_db.unit_of_work(), TENANT, DOMAIN, SecretStr(PASSWORD), load_secret_box())


def sign_in(identity_db, email: str, **codes: str):
    return auth.sign_in(identity_db.unit_of_work(), SignInRequest(email=email, password=PASSWORD, **codes),
                        auth.Request(ip="203.0.113.10", user_agent="pytest"), IdentitySettings(), load_secret_box())


def test_the_demo_has_a_user_with_two_factor_and_ten_unused_recovery_codes(identity_db):
    seed(identity_db)
    session = identity_db.unit_of_work().session

    with_2fa = session.scalars(sa.select(User).where(User.tenant_id == TENANT, User.totp_enabled_at.is_not(None)))
    [user] = list(with_2fa)
    assert user.email == f"security@{DOMAIN}" and user.email_confirmed_at is not None
    codes = session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert len(codes) == 10 and all(code.used_at is None for code in codes)
    # the published demo secret is the one that works, and it is stored sealed
    assert DEMO_TOTP_SECRET not in (user.totp_secret_encrypted or "")
    email = user.email  # (the next unit of work closes this one)
    with pytest.raises(TwoFactorRequired):
        sign_in(identity_db, email)
    signed = sign_in(identity_db, email, totp_code=totp.code_at(DEMO_TOTP_SECRET, datetime.now(UTC)))
    assert signed.user.two_factor_enabled is True


def test_the_demo_has_the_promised_ip_restriction_list_switched_off(identity_db):
    seed(identity_db)
    session = identity_db.unit_of_work().session

    policy = session.get(IpPolicy, TENANT)
    assert policy is not None and policy.enabled is False
    entries = {(row.description, tuple(row.addresses), row.range_from, row.range_to)
               for row in session.scalars(sa.select(IpEntryRow).where(IpEntryRow.tenant_id == TENANT))}
    assert entries == {
        ("Head office", (), "203.0.113.0", "203.0.113.255"),
        ("VPN gateways", ("198.51.100.10", "198.51.100.11"), None, None),
        ("Head office (IPv6)", (), "2001:db8:100::", "2001:db8:100::ffff"),
    }


def test_seeding_the_demo_again_adds_nothing(identity_db):
    first = seed(identity_db)

    assert seed(identity_db) == []

    session = identity_db.unit_of_work().session
    assert sorted(first) == sorted(session.scalars(sa.select(User.email).where(User.tenant_id == TENANT)))
    assert session.scalar(sa.select(sa.func.count()).select_from(IpEntryRow)) == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 10
