"""Identity announces ``sessions_revoked`` whenever a session must not be trusted from a
gateway's cache any more: sign-out, a password change, a user's deletion, a permission change."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from contracts.identity import ChangePasswordRequest, CreateUserRequest, UpdateUserRequest
from services.identity.adapters.models import User
from services.identity.usecases import authentication as auth
from services.identity.usecases import users
from services.identity.usecases.bootstrap import ensure_demo_administrator
from tests.usecases.test_identity_sign_in import ADMIN_EMAIL, ADMIN_PASSWORD, HERE, SETTINGS, TENANT, _ctx, sign_in

NEW_PASSWORD = "fresh tide pools"


@pytest.fixture
def admin(identity_db) -> SimpleNamespace:
    ensure_demo_administrator(identity_db.unit_of_work(), TENANT, ADMIN_EMAIL, SecretStr(ADMIN_PASSWORD))
    uow = identity_db.unit_of_work()
    user = uow.session.query(User).filter_by(email_normalised=ADMIN_EMAIL).one()
    admin = SimpleNamespace(id=user.id, tenant_id=user.tenant_id, email=user.email, role=user.role)
    uow.close()
    return admin


def revocations(identity_db) -> list[dict]:
    return [event["payload"] for event in identity_db.events("sessions_revoked")]


def test_signing_out_revokes_that_one_session(identity_db, admin):
    reply = sign_in(identity_db)
    session = auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS).session_id

    auth.sign_out(identity_db.unit_of_work(), session)

    assert revocations(identity_db) == [
        {"user_id": str(admin.id), "session_ids": [str(session)], "reason": "signed_out"}]


def test_a_password_change_revokes_every_session_of_the_user_and_names_no_secret(identity_db, admin, mailer):
    reply = sign_in(identity_db)
    session = auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS).session_id

    auth.change_password(identity_db.unit_of_work(), admin.id, session, ChangePasswordRequest(
        current_password=ADMIN_PASSWORD, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD), mailer)

    assert revocations(identity_db) == [{"user_id": str(admin.id), "session_ids": None, "reason": "password_changed"}]
    wire = json.dumps(identity_db.events("sessions_revoked"))
    assert reply.token not in wire and NEW_PASSWORD not in wire and ADMIN_PASSWORD not in wire


def test_deleting_a_user_or_changing_their_permissions_revokes_their_sessions(identity_db, admin, mailer):
    ctx = _ctx(identity_db, admin)
    member = users.create_user(identity_db.unit_of_work(ctx.caller), ctx, CreateUserRequest(
        email="member@northwind.example", role="custom", permissions=["view_dashboard"]), mailer, SETTINGS)

    users.update_user(identity_db.unit_of_work(ctx.caller), ctx, member.id,
                      UpdateUserRequest(display_name="Only a new name"))
    users.update_user(identity_db.unit_of_work(ctx.caller), ctx, member.id,
                      UpdateUserRequest(permissions=["view_dashboard", "view_settings"]))
    users.delete_user(identity_db.unit_of_work(ctx.caller), ctx, member.id)

    assert revocations(identity_db) == [
        {"user_id": str(member.id), "session_ids": None, "reason": "user_updated"},
        {"user_id": str(member.id), "session_ids": None, "reason": "permissions_changed"},
        {"user_id": str(member.id), "session_ids": None, "reason": "user_deleted"},
    ]
