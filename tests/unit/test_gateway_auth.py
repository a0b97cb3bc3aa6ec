"""The gateway's authentication: session checks, their short cache, password expiry, permissions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from contracts.errors import NotAuthenticated, SsoNotConfigured, Throttled
from contracts.identity import Principal, UserView
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

TOKEN = "t" * 43


def principal(role="custom", permissions=(), password_expired=False) -> dict:
    user = UserView(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="distributor", email="u@example.com",
        credential_type="password", role=role, permissions=list(permissions), accessible_accounts="all",
        email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=password_expired).to_wire()


def client(fake: FakeRpcClient) -> TestClient:
    return TestClient(create_app(rpc_client_factory=lambda _: fake))


def auth(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_a_bearer_challenge():
    response = client(FakeRpcClient()).get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_session_is_checked_once_for_a_burst_of_requests():
    fake = FakeRpcClient({("identity", "check_session"): principal()})
    http = client(fake)

    for _ in range(3):
        assert http.get("/api/v1/me", headers=auth()).status_code == 200

    checks = [c for c in fake.calls if c.call.method == "check_session"]
    assert len(checks) == 1


def test_the_signed_in_user_travels_as_the_caller_of_every_rpc():
    answer = principal(role="administrator")
    fake = FakeRpcClient({("identity", "check_session"): answer,
                          ("identity", "get_password_policy"): {"expiration_enabled": False, "max_age_days": 90}})

    client(fake).get("/api/v1/security/password-policy", headers=auth())

    caller = fake.calls[-1].context.caller
    assert str(caller.user_id) == answer["user"]["id"]
    assert str(caller.tenant_id) == answer["user"]["tenant_id"]
    assert str(caller.session_id) == answer["session_id"]


def test_an_expired_password_allows_only_the_change():
    fake = FakeRpcClient({("identity", "check_session"): principal(role="administrator", password_expired=True),
                          ("identity", "change_password"): None})
    http = client(fake)

    refused = http.get("/api/v1/security/ip-restrictions", headers=auth())
    changed = http.post("/api/v1/me/password", headers=auth(), json={
        "current_password": "old one here", "new_password": "a new passphrase", "confirm_password": "a new passphrase"})

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "password_expired"
    assert changed.status_code == 204


def test_a_custom_user_without_the_permission_is_refused():
    fake = FakeRpcClient({("identity", "check_session"): principal(permissions=["view_dashboard"])})

    response = client(fake).get("/api/v1/security/ip-restrictions", headers=auth())

    assert response.status_code == 403
    assert "view_settings" in response.json()["error"]["message"]


def test_a_custom_user_cannot_manage_users():
    fake = FakeRpcClient({("identity", "check_session"): principal(permissions=["view_settings"])})

    assert client(fake).get("/api/v1/users", headers=auth()).status_code == 403


def test_an_invalid_session_is_401():
    fake = FakeRpcClient({("identity", "check_session"): NotAuthenticated("sign in first")})

    assert client(fake).get("/api/v1/me", headers=auth()).status_code == 401


def test_throttled_sign_in_says_when_to_retry():
    fake = FakeRpcClient({("identity", "sign_in"): Throttled("too many", {"retry_after": 8})})

    response = client(fake).post("/api/v1/auth/sign-in", json={"email": "a@example.com", "password": "x"})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "8"


def test_sign_out_forgets_the_cached_session():
    answers = {("identity", "check_session"): principal(), ("identity", "sign_out"): None}
    fake = FakeRpcClient(answers)
    http = client(fake)
    assert http.get("/api/v1/me", headers=auth()).status_code == 200

    assert http.post("/api/v1/auth/sign-out", headers=auth()).status_code == 204
    fake.answers[("identity", "check_session")] = NotAuthenticated("sign in first")

    assert http.get("/api/v1/me", headers=auth()).status_code == 401


def test_sso_sign_in_says_clearly_that_it_is_not_configured():
    not_configured = SsoNotConfigured("Microsoft sign-in is not configured for this portal", {"provider": "microsoft"})
    response = client(FakeRpcClient({("identity", "sso_start"): not_configured})).post("/api/v1/auth/sso/microsoft")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sso_not_configured"
    assert client(FakeRpcClient()).post("/api/v1/auth/sso/myspace").status_code == 422


def test_a_rejected_session_token_is_401_with_an_invalid_token_challenge():
    fake = FakeRpcClient({("identity", "check_session"): NotAuthenticated("sign in first")})

    response = client(fake).get("/api/v1/me", headers=auth("bogus-token"))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_rejected_engine_key_is_401_with_an_invalid_token_challenge():
    fake = FakeRpcClient({("identity", "check_engine_key"): NotAuthenticated("unknown or revoked engine key")})

    response = client(fake).post("/api/v1/ingest/backup-runs", headers=auth("bre_unknown"), json={"runs": []})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
