"""Identity and access, end to end: HTTP through the gateway to the running suite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from servicekit.settings import normalise_database_url
from services.identity.domain.throttle import PER_ACCOUNT
from tests.e2e.identity_client import DEMO_ADMIN, Client, Mailbox, error_code, signed_in, unique_ip
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.e2e

STRONG = "a lantern over the quiet bay"


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
    for _ in range(PER_ACCOUNT.free + 1):
        client.ip = unique_ip()  # the account-wide ceiling, not the per-address limits
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


@pytest.mark.calendar
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


def entry_id(view: dict, description: str) -> str:
    [entry] = [e for e in view["entries"] if e["description"] == description]
    return str(entry["id"])


def turned_on_notices(mail: Mailbox) -> int:
    return sum("IP restrictions turned on" in text for text in mail.texts_to(DEMO_ADMIN[0]))


def test_ip_restrictions_prevent_self_lockout_and_deny_untrusted_addresses(suite, admin, mail):
    _, member = confirmed_user(suite, admin, mail)
    office = unique_ip("198.19")
    operator_ip = admin.ip
    tag = uuid.uuid4().hex[:8]
    made: list[str] = []  # only what this test adds is removed afterwards (the seed's entries stay)
    try:
        entry = admin.post("/api/v1/security/ip-restrictions/entries",
                           json={"description": f"branch office {tag}", "addresses": office})
        assert entry.status_code == 201, entry.text
        made.append(entry_id(entry.json(), f"branch office {tag}"))

        locked_out = admin.put("/api/v1/security/ip-restrictions", json={"enabled": True})
        assert locked_out.status_code == 409 and error_code(locked_out) == "own_ip_not_trusted"
        assert admin.get("/api/v1/security/ip-restrictions").json()["enabled"] is False

        head = admin.post("/api/v1/security/ip-restrictions/entries",
                          json={"description": f"head office {tag}", "range_from": operator_ip,
                                "range_to": operator_ip})
        made.append(entry_id(head.json(), f"head office {tag}"))
        notices_before = turned_on_notices(mail)
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

        # every change is mailed to the administrators: this test's entry, and this switch-on
        mail.wait_for_text(DEMO_ADMIN[0], f"Entry added: head office {tag}")
        wait_for(lambda: turned_on_notices(mail) > notices_before, timeout=15,
                 message="the notice that IP restrictions were turned on")
    finally:
        admin.ip = operator_ip
        admin.put("/api/v1/security/ip-restrictions", json={"enabled": False})
        for made_id in made:
            admin.delete(f"/api/v1/security/ip-restrictions/entries/{made_id}")


def test_an_ip_entry_is_edited_but_never_so_the_caller_is_locked_out(suite, admin, mail):
    tag = uuid.uuid4().hex[:8]
    entries = "/api/v1/security/ip-restrictions/entries"
    made: list[str] = []
    try:
        branch = admin.post(entries, json={"description": f"branch {tag}", "addresses": unique_ip("198.19")})
        assert branch.status_code == 201, branch.text
        branch_id = entry_id(branch.json(), f"branch {tag}")
        made.append(branch_id)

        edited = admin.patch(f"{entries}/{branch_id}", json={
            "description": f"branch moved {tag}", "range_from": "198.19.10.1", "range_to": "198.19.10.50"})

        assert edited.status_code == 200, edited.text
        [row] = [e for e in admin.get("/api/v1/security/ip-restrictions").json()["entries"] if e["id"] == branch_id]
        assert row == {"id": branch_id, "description": f"branch moved {tag}", "addresses": None,
                       "range_from": "198.19.10.1", "range_to": "198.19.10.50"}
        mail.wait_for_text(DEMO_ADMIN[0], f"Entry changed: branch moved {tag}")

        own = admin.post(entries, json={"description": f"my desk {tag}", "addresses": admin.ip})
        own_id = entry_id(own.json(), f"my desk {tag}")
        made.append(own_id)
        assert admin.put("/api/v1/security/ip-restrictions", json={"enabled": True}).status_code == 200

        moved = admin.patch(f"{entries}/{own_id}", json={"addresses": "192.0.2.77"})
        removed = admin.delete(f"{entries}/{own_id}")

        assert moved.status_code == 409 and error_code(moved) == "own_ip_not_trusted"
        assert removed.status_code == 409 and error_code(removed) == "own_ip_not_trusted"
        view = admin.get("/api/v1/security/ip-restrictions").json()
        assert [e["addresses"] for e in view["entries"] if e["id"] == own_id] == [admin.ip]  # untouched
        assert view["enabled"] is True
        other_edit = admin.patch(f"{entries}/{branch_id}", json={"description": f"branch again {tag}"})
        assert other_edit.status_code == 200  # entries that do not trust the caller stay editable
    finally:
        admin.put("/api/v1/security/ip-restrictions", json={"enabled": False})
        for made_id in made:
            admin.delete(f"{entries}/{made_id}")
    left = {e["id"] for e in admin.get("/api/v1/security/ip-restrictions").json()["entries"]}
    assert left.isdisjoint(made)


def test_the_demo_seed_shows_a_user_with_two_factor_and_an_ip_restriction_list(admin):
    listed = admin.get("/api/v1/users", params={"page_size": 200}).json()["items"]
    ip = admin.get("/api/v1/security/ip-restrictions").json()

    assert "security@northwind-backup.example" in {u["email"] for u in listed if u["two_factor_enabled"]}
    assert {"Head office", "VPN gateways", "Head office (IPv6)"} <= {e["description"] for e in ip["entries"]}
    assert ip["enabled"] is False


@pytest.mark.calendar
def test_an_expired_password_allows_only_the_change(suite, admin, mail, identity_db):
    user, _ = confirmed_user(suite, admin, mail, role="administrator", permissions=[])
    try:
        assert admin.put("/api/v1/security/password-policy",
                         json={"expiration_enabled": True, "max_age_days": 30}).status_code == 200
        with identity_db.begin() as connection:
            connection.execute(sa.text("UPDATE users SET password_changed_at = :at WHERE id = :id"),
                               {"at": datetime.now(UTC) - timedelta(days=31), "id": uuid.UUID(user["id"])})

        client = Client(suite.base_url)
        signed = client.sign_in(user["email"], STRONG)
        assert signed.status_code == 200 and signed.json()["password_expired"] is True
        for blocked in (client.get("/api/v1/security/ip-restrictions"), client.get("/api/v1/users")):
            assert blocked.status_code == 403 and error_code(blocked) == "password_expired"

        changed = client.post("/api/v1/me/password", json={
            "current_password": STRONG, "new_password": "a fresh tide at noon", "confirm_password": "a fresh tide at noon"})
        assert changed.status_code == 204
        assert client.get("/api/v1/me").status_code == 200
        again = client.get("/api/v1/users", params={"search": user["email"]})  # an ordinary route, open again
        assert again.status_code == 200 and [u["email"] for u in again.json()["items"]] == [user["email"]]
        assert client.get("/api/v1/security/ip-restrictions").status_code == 200
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
    told = mail.wait_for_text(user["email"], "Password changed")
    assert STRONG not in told and "a fresh tide at noon" not in told


def test_a_password_policy_change_is_mailed_to_the_administrators_and_no_other_user(suite, admin, mail):
    other_admin, _ = confirmed_user(suite, admin, mail, role="administrator", permissions=[])
    member, _ = confirmed_user(suite, admin, mail)
    days = 100 + uuid.uuid4().int % 3000  # names this change in the mail
    try:
        assert admin.put("/api/v1/security/password-policy",
                         json={"expiration_enabled": True, "max_age_days": days}).status_code == 200

        line = f"Passwords now expire after {days} days."
        for administrator in (DEMO_ADMIN[0], other_admin["email"]):
            assert f"Changed by {DEMO_ADMIN[0]}" in mail.wait_for_text(administrator, line)
        assert [t for t in mail.texts_to(member["email"]) if "Security notice" in t] == []
    finally:
        admin.put("/api/v1/security/password-policy", json={"expiration_enabled": False, "max_age_days": 90})


@pytest.mark.calendar
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
    code = totp.now()
    assert client.delete("/api/v1/me/two-factor", json={"code": code}).status_code == 204
    assert Client(suite.base_url).sign_in(user["email"], STRONG).status_code == 200

    # the user and the tenant's administrators are told, without the secret or the code
    told = [mail.wait_for_text(user["email"], "Two-factor authentication was turned off for your sign-in"),
            mail.wait_for_text(DEMO_ADMIN[0], f"Two-factor authentication was turned off for {user['email']}")]
    assert [t for t in told if setup["secret"] in t or code in t] == []


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


def test_an_administrator_deletes_a_user_who_then_cannot_sign_in(suite, admin, mail):
    user, client = confirmed_user(suite, admin, mail)
    assert client.get("/api/v1/me").status_code == 200

    deleted = admin.delete(f"/api/v1/users/{user['id']}")

    assert deleted.status_code == 204
    assert admin.get(f"/api/v1/users/{user['id']}").status_code == 404
    assert admin.get("/api/v1/users", params={"search": user["email"]}).json()["total"] == 0
    wait_for(lambda: client.get("/api/v1/me").status_code == 401, timeout=5,
             message="the deleted user's session to end (the gateway caches a session for 3 s)")
    refused = Client(suite.base_url).sign_in(user["email"], STRONG)
    assert refused.status_code == 401 and error_code(refused) == "invalid_credentials"
    assert admin.delete(f"/api/v1/users/{user['id']}").status_code == 404
    yourself = admin.delete(f"/api/v1/users/{admin.get('/api/v1/me').json()['id']}")
    assert yourself.status_code == 409


def test_microsoft_and_google_users_show_their_credential_type_and_need_no_password(suite, admin, mail):
    tag = uuid.uuid4().hex[:8]
    made = {}
    for provider in ("microsoft", "google"):
        email = f"{provider}-{tag}@northwind-backup.example"
        created = admin.post("/api/v1/users", json={"email": email, "credential_type": provider, "role": "custom",
                                                     "permissions": ["view_dashboard"]})
        assert created.status_code == 201, created.text
        assert created.json()["credential_type"] == provider
        made[provider] = (created.json(), mail.new_confirmation_token(email))
    with_password = admin.post("/api/v1/users", json={"email": f"pw-google-{tag}@northwind-backup.example",
                                                       "credential_type": "google", "password": STRONG})
    assert with_password.status_code == 422
    assert with_password.json()["error"]["details"]["fields"][0]["field"] == "password"

    listed = admin.get("/api/v1/users", params={"search": tag, "page_size": 200}).json()["items"]
    assert {u["email"]: u["credential_type"] for u in listed} == {
        f"microsoft-{tag}@northwind-backup.example": "microsoft", f"google-{tag}@northwind-backup.example": "google"}
    for provider, (user, token) in made.items():
        assert admin.get(f"/api/v1/users/{user['id']}").json()["credential_type"] == provider
        # No password to choose: the provider signs them in, so the link alone confirms.
        confirmed = Client(suite.base_url).post("/api/v1/auth/confirm-email", json={"token": token})
        assert confirmed.status_code == 204, confirmed.text
        assert admin.get(f"/api/v1/users/{user['id']}").json()["email_confirmed"] is True

        # The suite has both providers configured (tests/e2e/conftest.py): the start answers the
        # provider's authorization URL (the whole flow is tests/e2e/test_console_sso.py).
        sso = Client(suite.base_url).post(f"/api/v1/auth/sso/{provider}")
        assert sso.status_code == 200, sso.text
        assert sso.json()["authorization_url"].startswith(suite.env[f"IDENTITY_{provider.upper()}_ISSUER"])
        # and no password opens their sign-in (answered like any wrong password)
        by_password = Client(suite.base_url).sign_in(user["email"], STRONG)
        assert by_password.status_code == 401 and error_code(by_password) == "invalid_credentials"


def test_the_mailed_link_comes_from_configuration_whatever_host_the_request_names(suite, admin, mail):
    email = f"host-{uuid.uuid4().hex[:8]}@northwind-backup.example"
    spoofed = {"Host": "portal.attacker.example", "X-Forwarded-Host": "portal.attacker.example",
               "X-Forwarded-Proto": "https", "Forwarded": "host=portal.attacker.example;proto=https"}

    created = admin.post("/api/v1/users", json={"email": email, "role": "custom", "permissions": ["view_dashboard"]},
                         headers=spoofed)

    assert created.status_code == 201, created.text
    text = mail.wait_for_text(email, "confirm-email?token=")
    assert f"{suite.env['PORTAL_PUBLIC_BASE_URL']}/confirm-email?token=" in text
    assert "attacker" not in text
    token = mail.new_confirmation_token(email)
    known = {token}
    resent = admin.post(f"/api/v1/users/{created.json()['id']}/resend-confirmation", headers=spoofed)
    assert resent.status_code == 200
    mail.new_confirmation_token(email, known)
    assert not [t for t in mail.texts_to(email) if "attacker" in t]


def test_a_new_customer_account_gets_an_administrator_who_sees_only_that_account(suite, admin, mail):
    tag = uuid.uuid4().hex[:8]
    partner_email = f"msp-{tag}@contoso-partners.example"
    partner = admin.post("/api/v1/partners", json={"name": f"Contoso Partners {tag}", "email": partner_email,
                                                   "country": "US", "data_center": "us-east-1"})
    assert partner.status_code == 201, partner.text
    partner_admin = Client(suite.base_url)
    token = mail.new_confirmation_token(partner_email, timeout=30)
    assert partner_admin.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG}).status_code == 204
    assert partner_admin.sign_in(partner_email, STRONG).status_code == 200
    account_email = f"it-{tag}@alpine-customer.example"

    account = partner_admin.post("/api/v1/accounts", json={"name": f"Alpine {tag}", "email": account_email})

    assert account.status_code == 201, account.text
    account_id = account.json()["id"]
    customer = Client(suite.base_url)
    invitation = mail.new_confirmation_token(account_email, timeout=30)
    assert customer.sign_in(account_email, STRONG).status_code == 401  # no password until confirmed
    assert customer.post("/api/v1/auth/confirm-email",
                         json={"token": invitation, "password": STRONG}).status_code == 204
    assert customer.sign_in(account_email, STRONG).status_code == 200
    me = customer.get("/api/v1/me").json()
    assert (me["tenant_id"], me["tenant_kind"], me["role"]) == (account_id, "account", "administrator")

    own = customer.get(f"/api/v1/accounts/{account_id}")
    assert own.status_code == 200 and own.json()["email"] == account_email
    other = admin.get("/api/v1/direct-accounts", params={"page_size": 1}).json()["items"][0]["id"]
    assert customer.get(f"/api/v1/accounts/{other}").status_code == 404
    assert customer.get(f"/api/v1/accounts/{uuid.uuid4()}").status_code == 404
    assert customer.get("/api/v1/billing/status").status_code in (403, 404)
