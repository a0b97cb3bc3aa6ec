"""Identity and access, end to end: HTTP through the gateway to the running suite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from servicekit.settings import normalise_database_url
from servicekit.testing import wait_for
from services.identity.throttle import FREE_FAILURES
from tests.e2e.identity_client import DEMO_ADMIN, Client, Mailbox, error_code, signed_in, unique_ip

pytestmark = pytest.mark.e2e

STRONG = "a lantern over the quiet bay"


@pytest.fixture(scope="module")
def admin(suite) -> Client:
    return signed_in(suite.base_url, *DEMO_ADMIN)


@pytest.fixture(scope="module")
def mail(suite) -> Mailbox:
    return Mailbox(suite.var_dir)


@pytest.fixture(scope="module")
def identity_db(suite):
    engine = sa.create_engine(normalise_database_url(suite.env["IDENTITY_DATABASE_URL"]))
    yield engine
    engine.dispose()


def invite(admin: Client, mail: Mailbox, **fields) -> tuple[dict, str]:
    email = fields.pop("email", f"user-{uuid.uuid4().hex[:8]}@northwind-backup.example")
    known = mail.confirmation_tokens(email)
    body = {"email": email, "role": "custom", "permissions": ["view_dashboard"], **fields}
    created = admin.post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    return created.json(), mail.new_confirmation_token(email, known)


def confirmed_user(suite, admin: Client, mail: Mailbox, **fields) -> tuple[dict, Client]:
    user, token = invite(admin, mail, **fields)
    client = Client(suite.base_url)
    assert client.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG}).status_code == 204
    assert client.sign_in(user["email"], STRONG).status_code == 200
    return user, client


def test_sign_in_me_and_sign_out(suite):
    client = signed_in(suite.base_url, *DEMO_ADMIN)

    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == DEMO_ADMIN[0]
    assert me.json()["role"] == "administrator"

    assert client.post("/api/v1/auth/sign-out").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_and_unknown_email_answer_alike_then_throttle(suite):
    client = Client(suite.base_url)

    wrong = client.sign_in(DEMO_ADMIN[0], "not the password")
    unknown = client.sign_in("nobody@nowhere.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]

    ghost = f"ghost-{uuid.uuid4().hex[:6]}@nowhere.example"
    for _ in range(FREE_FAILURES + 1):
        client.ip = unique_ip()  # the per-account limit, not the per-IP one
        assert client.sign_in(ghost, "still wrong").status_code == 401
    throttled = client.sign_in(ghost, "still wrong")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1


def test_a_new_user_confirms_by_the_mailed_link_once_and_then_signs_in(suite, admin, mail):
    user, token = invite(admin, mail)
    client = Client(suite.base_url)

    unconfirmed = client.sign_in(user["email"], STRONG)
    assert unconfirmed.status_code == 401  # no password yet, and not confirmed
    no_password = client.post("/api/v1/auth/confirm-email", json={"token": token})
    assert no_password.status_code == 422 and no_password.json()["error"]["details"]["fields"][0]["field"] == "password"
    weak = client.post("/api/v1/auth/confirm-email", json={"token": token, "password": "password1"})
    assert weak.status_code == 422

    assert client.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG}).status_code == 204
    reused = client.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG})
    assert reused.status_code == 422 and reused.json()["error"]["details"]["fields"][0]["field"] == "token"

    assert client.sign_in(user["email"], STRONG).status_code == 200
    assert client.get("/api/v1/me").json()["email_confirmed"] is True


def test_an_unconfirmed_user_with_a_password_cannot_sign_in_until_confirmed(suite, admin, mail):
    user, token = invite(admin, mail, password=STRONG)
    client = Client(suite.base_url)

    refused = client.sign_in(user["email"], STRONG)
    assert refused.status_code == 401 and error_code(refused) == "email_not_confirmed"

    known = mail.confirmation_tokens(user["email"])
    resent = admin.post(f"/api/v1/users/{user['id']}/resend-confirmation")
    assert resent.status_code == 200 and resent.json()["mail_queued"] is True
    newer = mail.new_confirmation_token(user["email"], known)

    assert client.post("/api/v1/auth/confirm-email", json={"token": token}).status_code == 422  # superseded
    assert client.post("/api/v1/auth/confirm-email", json={"token": newer}).status_code == 204
    assert client.sign_in(user["email"], STRONG).status_code == 200


def test_a_confirmation_link_older_than_24_hours_is_refused(suite, admin, mail, identity_db):
    user, token = invite(admin, mail, password=STRONG)
    issued = datetime.now(UTC) - timedelta(hours=24, seconds=1)
    with identity_db.begin() as connection:  # age the token as if mailed 24 h 1 s ago
        connection.execute(sa.text(
            "UPDATE email_tokens SET created_at = :issued, expires_at = :expires WHERE user_id = :user"
        ), {"issued": issued, "expires": issued + timedelta(hours=24), "user": uuid.UUID(user["id"])})

    expired = Client(suite.base_url).post("/api/v1/auth/confirm-email", json={"token": token})

    assert expired.status_code == 422 and "expired" in expired.json()["error"]["message"]


def test_two_factor_with_a_code_once_and_recovery_codes_once(suite, admin, mail):
    user, client = confirmed_user(suite, admin, mail)
    setup = client.post("/api/v1/me/two-factor/setup").json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    enabled = client.post("/api/v1/me/two-factor/enable", json={"code": totp.at(datetime.now(UTC) - timedelta(seconds=30))})
    assert enabled.status_code == 200
    recovery = enabled.json()["recovery_codes"]
    assert len(recovery) == 10

    fresh = Client(suite.base_url)
    required = fresh.sign_in(user["email"], STRONG)
    assert required.status_code == 401 and error_code(required) == "two_factor_required"
    code = totp.now()
    assert fresh.sign_in(user["email"], STRONG, totp_code=code).status_code == 200
    replay = Client(suite.base_url).sign_in(user["email"], STRONG, totp_code=code)
    assert replay.status_code == 401 and error_code(replay) == "invalid_credentials"

    assert Client(suite.base_url).sign_in(user["email"], STRONG, recovery_code=recovery[0]).status_code == 200
    assert Client(suite.base_url).sign_in(user["email"], STRONG, recovery_code=recovery[0]).status_code == 401
    listed = admin.get(f"/api/v1/users/{user['id']}").json()
    assert listed["two_factor_enabled"] is True


def test_ip_restrictions_prevent_self_lockout_and_deny_untrusted_addresses(suite, admin, mail):
    _, member = confirmed_user(suite, admin, mail)
    office = unique_ip("198.19")
    operator_ip = admin.ip
    try:
        entry = admin.post("/api/v1/security/ip-restrictions/entries",
                           json={"description": "branch office", "addresses": office})
        assert entry.status_code == 201, entry.text

        locked_out = admin.put("/api/v1/security/ip-restrictions", json={"enabled": True})
        assert locked_out.status_code == 409 and error_code(locked_out) == "own_ip_not_trusted"
        assert admin.get("/api/v1/security/ip-restrictions").json()["enabled"] is False

        admin.post("/api/v1/security/ip-restrictions/entries",
                   json={"description": "head office", "range_from": operator_ip, "range_to": operator_ip})
        view = admin.put("/api/v1/security/ip-restrictions", json={"enabled": True})
        assert view.status_code == 200 and view.json()["enabled"] is True
        assert view.json()["your_ip"] == operator_ip

        member.ip = unique_ip("192.0.2")  # a valid session from somewhere else
        denied = member.get("/api/v1/me")
        assert denied.status_code == 403 and error_code(denied) == "access_denied"
        elsewhere = Client(suite.base_url, ip=unique_ip("192.0.2")).sign_in(*DEMO_ADMIN)
        assert elsewhere.status_code == 403 and error_code(elsewhere) == "access_denied"
        member.ip = office
        assert member.get("/api/v1/me").status_code == 200

        notice = Mailbox(suite.var_dir).messages_to(DEMO_ADMIN[0])
        assert any("IP restrictions" in str(m["Subject"]) for m in notice)
    finally:
        admin.ip = operator_ip
        admin.put("/api/v1/security/ip-restrictions", json={"enabled": False})
        for listed in admin.get("/api/v1/security/ip-restrictions").json()["entries"]:
            admin.delete(f"/api/v1/security/ip-restrictions/entries/{listed['id']}")


def test_an_expired_password_allows_only_the_change(suite, admin, mail, identity_db):
    user, _ = confirmed_user(suite, admin, mail)
    try:
        assert admin.put("/api/v1/security/password-policy",
                         json={"expiration_enabled": True, "max_age_days": 30}).status_code == 200
        with identity_db.begin() as connection:
            connection.execute(sa.text("UPDATE users SET password_changed_at = :at WHERE id = :id"),
                               {"at": datetime.now(UTC) - timedelta(days=31), "id": uuid.UUID(user["id"])})

        client = Client(suite.base_url)
        signed = client.sign_in(user["email"], STRONG)
        assert signed.status_code == 200 and signed.json()["password_expired"] is True
        blocked = client.get("/api/v1/security/ip-restrictions")
        assert blocked.status_code == 403 and error_code(blocked) == "password_expired"

        changed = client.post("/api/v1/me/password", json={
            "current_password": STRONG, "new_password": "a fresh tide at noon", "confirm_password": "a fresh tide at noon"})
        assert changed.status_code == 204
        assert client.get("/api/v1/me").status_code == 200
    finally:
        admin.put("/api/v1/security/password-policy", json={"expiration_enabled": False, "max_age_days": 90})


def test_account_permissions_need_dashboard_or_add_accounts(admin):
    refused = admin.post("/api/v1/users", json={
        "email": f"viewer-{uuid.uuid4().hex[:6]}@northwind-backup.example", "role": "custom",
        "permissions": ["account_view_billing"]})

    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["fields"][0]["field"] == "permissions"


def test_a_custom_user_without_view_settings_cannot_read_security_settings(suite, admin, mail):
    _, member = confirmed_user(suite, admin, mail)

    assert member.get("/api/v1/security/ip-restrictions").status_code == 403
    assert member.get("/api/v1/users").status_code == 403


def test_changing_the_password_ends_the_other_sessions(suite, admin, mail):
    user, laptop = confirmed_user(suite, admin, mail)
    phone = signed_in(suite.base_url, user["email"], STRONG)

    mismatch = laptop.post("/api/v1/me/password", json={
        "current_password": STRONG, "new_password": "a fresh tide at noon", "confirm_password": "a fresh tide"})
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["details"]["fields"][0]["field"] == "confirm_password"
    changed = laptop.post("/api/v1/me/password", json={
        "current_password": STRONG, "new_password": "a fresh tide at noon", "confirm_password": "a fresh tide at noon"})
    assert changed.status_code == 204

    assert laptop.get("/api/v1/me").status_code == 200
    wait_for(lambda: phone.get("/api/v1/me").status_code == 401, timeout=5,
             message="the other session to end (the gateway caches a session for 3 s)")
    assert Client(suite.base_url).sign_in(user["email"], "a fresh tide at noon").status_code == 200


def test_an_idle_session_expires(suite, admin, mail, identity_db):
    user, client = confirmed_user(suite, admin, mail)
    with identity_db.begin() as connection:  # as if the last request was 31 minutes ago
        connection.execute(sa.text("UPDATE sessions SET last_seen_at = :at WHERE user_id = :id"),
                           {"at": datetime.now(UTC) - timedelta(minutes=31), "id": uuid.UUID(user["id"])})

    # (a Response is falsy when it is an error, so wait for its status instead)
    status = wait_for(lambda: (lambda r: (r.status_code, error_code(r)) if r.status_code == 401 else None)(
        client.get("/api/v1/me")), timeout=5, message="the idle session to be refused")
    assert status == (401, "session_expired")


def test_turning_two_factor_off_needs_a_current_code(suite, admin, mail):
    user, client = confirmed_user(suite, admin, mail)
    setup = client.post("/api/v1/me/two-factor/setup").json()
    totp = pyotp.TOTP(setup["secret"])
    client.post("/api/v1/me/two-factor/enable", json={"code": totp.at(datetime.now(UTC) - timedelta(seconds=30))})

    wrong = client.delete("/api/v1/me/two-factor", json={"code": "000000" if totp.now() != "000000" else "111111"})
    assert wrong.status_code == 422
    assert client.delete("/api/v1/me/two-factor", json={"code": totp.now()}).status_code == 204
    assert Client(suite.base_url).sign_in(user["email"], STRONG).status_code == 200


def test_a_user_limited_to_some_accounts_finds_no_others(suite, admin, mail):
    direct = admin.get("/api/v1/direct-accounts", params={"page_size": 200}).json()["items"]
    assert len(direct) >= 2, direct
    allowed, hidden = direct[0], direct[1]
    _, member = confirmed_user(suite, admin, mail, accessible_accounts=[allowed["id"]])

    listed = member.get("/api/v1/direct-accounts", params={"page_size": 200}).json()

    assert [row["id"] for row in listed["items"]] == [allowed["id"]]
    assert listed["total"] == 1
    assert member.get(f"/api/v1/accounts/{allowed['id']}").status_code == 200
    assert member.get(f"/api/v1/accounts/{hidden['id']}").status_code == 404
