"""First start of the suite: the operator account from settings, once; a database per service."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from pydantic import SecretStr

from contracts.context import OPERATOR_TENANT_ID
from contracts.events import IdentityEvent
from servicekit.settings import KitSettings, database_url_for
from services.identity.adapters.models import User
from services.identity.adapters.password_hashing import verify_password
from services.identity.usecases.bootstrap import OperatorSettings, bootstrap_operator


def operators(identity_db) -> list[User]:
    session = identity_db.unit_of_work().session
    return list(session.execute(sa.select(User).where(User.tenant_id == OPERATOR_TENANT_ID)).scalars())


def test_the_operator_is_created_on_the_first_start_only(identity_db):
    first = OperatorSettings(email="ops@vendor.example", password=SecretStr("first-start-password"))
    later = OperatorSettings(email="ops@vendor.example", password=SecretStr("a-changed-setting-later"))

    created = bootstrap_operator(identity_db.unit_of_work(), first)
    again = bootstrap_operator(identity_db.unit_of_work(), later)

    assert created is not None
    assert again is None
    [operator] = operators(identity_db)
    assert operator.id == created
    assert operator.role == "administrator"
    assert operator.email_confirmed_at is not None
    # A later start with other settings changes nothing: the first password still holds.
    assert verify_password(operator.password_hash, "first-start-password")
    assert not verify_password(operator.password_hash, "a-changed-setting-later")
    announced = identity_db.events(IdentityEvent.OPERATOR_BOOTSTRAPPED.value)
    assert len(announced) == 1
    assert "first-start-password" not in str(announced)


def test_without_operator_settings_no_account_is_made(identity_db):
    assert bootstrap_operator(identity_db.unit_of_work(), OperatorSettings(email=None, password=None)) is None

    assert operators(identity_db) == []


def test_each_service_defaults_to_its_own_sqlite_file(tmp_path: Path, monkeypatch):
    for service in ("identity", "tenancy", "billing", "audit", "notify"):
        monkeypatch.delenv(f"{service.upper()}_DATABASE_URL", raising=False)
    kit = KitSettings(var_dir=tmp_path / "var")

    urls = {service: database_url_for(service, kit) for service in ("identity", "tenancy", "billing")}

    assert urls["identity"] == f"sqlite:///{(tmp_path / 'var' / 'identity.db').resolve()}"
    assert len(set(urls.values())) == 3
    monkeypatch.setenv("BILLING_DATABASE_URL", "postgresql://postgres@db.example:5432/billing")
    assert database_url_for("billing", kit) == "postgresql+psycopg://postgres@db.example:5432/billing"
