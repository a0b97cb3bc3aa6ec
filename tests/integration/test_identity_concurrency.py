"""A TOTP code is accepted once, also when two sign-ins submit it at the same moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import eventlet
import pytest
from pydantic import SecretStr

from contracts.context import Caller
from contracts.errors import InvalidCredentials
from contracts.identity import SignInRequest
from services.identity.adapters.models import User
from services.identity.adapters.secrets_box import load_secret_box
from services.identity.domain import totp
from services.identity.settings import IdentitySettings
from services.identity.usecases import authentication as auth
from services.identity.usecases import security
from services.identity.usecases.bootstrap import ensure_demo_administrator
from tests.support.fixtures import MigratedDatabase
from tests.usecases.conftest import ROOT

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "racer@northwind.example", "a lantern over the quiet bay"


def test_the_same_code_submitted_twice_at_once_signs_in_once(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    db = MigratedDatabase("identity", ROOT / "services" / "identity" / "adapters" / "migrations", database_url("identity"))
    box, settings = load_secret_box(), IdentitySettings()
    ensure_demo_administrator(db.unit_of_work(), uuid.uuid4(), EMAIL, SecretStr(PASSWORD))
    user = db.unit_of_work().session.query(User).filter_by(email_normalised=EMAIL).one()
    ctx = db.unit_of_work(Caller(user_id=user.id, tenant_id=user.tenant_id)).context
    setup = security.two_factor_setup(db.unit_of_work(), ctx, box, settings)
    security.two_factor_enable(db.unit_of_work(), ctx, totp.code_at(setup.secret, datetime.now(UTC)), box)
    db.unit_of_work().close()
    # The enabling code used this step; the race is for the next one.
    now = datetime.now(UTC)
    step_after = datetime.fromtimestamp((totp.time_step(now) + 1) * 30, UTC)
    code = totp.code_at(setup.secret, step_after)

    def attempt() -> str:
        uow = _unit(db)
        try:
            auth.sign_in(uow, SignInRequest(email=EMAIL, password=PASSWORD, totp_code=code),
                         auth.Request(ip="203.0.113.5", user_agent=None), settings, box, now=step_after)
            return "signed in"
        except InvalidCredentials:
            return "refused"
        finally:
            uow.close()

    outcomes = sorted(eventlet.GreenPool(8).imap(lambda _: attempt(), range(8)))

    assert outcomes == ["refused"] * 7 + ["signed in"]
    db.dispose()


def _unit(db: MigratedDatabase):
    """An independent unit of work (several are open at once here)."""
    from servicekit.context import SYSTEM_CALLER, CallContext
    from servicekit.db import UnitOfWork

    return UnitOfWork(db.session_factory, "identity", CallContext("identity", SYSTEM_CALLER, "race"))
