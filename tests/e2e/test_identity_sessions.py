"""Sessions end to end: a revocation takes effect on the next request, on every gateway
instance; a token that is no session token is a 401 with a bearer challenge.

The gateway caches a session check for a few seconds. Sign-out, a password change, a
user's deletion and a permission change must not wait for that cache: the gateway that
made the change drops the user's entries at once, and identity announces
``sessions_revoked`` so that every other gateway instance drops them too. A second gateway
instance (``python -m gateway`` on a port of its own, against the same suite) shows the
latter.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import ROOT, free_port, poll
from tests.e2e.identity_client import Client, error_code, signed_in
from tests.e2e.test_identity_journeys import STRONG, confirmed_user

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a fresh tide at noon"


@pytest.fixture(scope="module")
def other_gateway(suite, tmp_path_factory) -> Iterator[str]:
    """The base URL of a second gateway instance in front of the same suite."""
    port = free_port()
    log = tmp_path_factory.mktemp("gateway2") / "gateway.log"
    env = {**suite.env, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with contextlib.suppress(requests.RequestException):
            return requests.get(base_url + "/healthz", timeout=2).status_code == 200
        return False

    try:
        if not poll(up, 60, interval=0.25):
            pytest.fail(f"the second gateway did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, 9)
            process.wait(timeout=5)


def on(base_url: str, client: Client) -> Client:
    """The same session (token and address) talking to another gateway instance."""
    return Client(base_url, ip=client.ip, token=client.token)


def test_a_password_change_ends_the_other_sessions_on_their_very_next_request(suite, admin, mail, other_gateway):
    user, laptop = confirmed_user(suite, admin, mail)
    phone = signed_in(suite.base_url, user["email"], STRONG)
    tablet = on(other_gateway, signed_in(suite.base_url, user["email"], STRONG))
    assert phone.get("/api/v1/me").status_code == 200  # both gateways now hold the session in their caches
    assert tablet.get("/api/v1/me").status_code == 200

    changed = laptop.post("/api/v1/me/password", json={
        "current_password": STRONG, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})

    assert changed.status_code == 204
    assert phone.get("/api/v1/me").status_code == 401  # no waiting for the cache
    assert tablet.get("/api/v1/me").status_code == 401  # nor on the other gateway instance
    assert laptop.get("/api/v1/me").status_code == 200
    assert on(other_gateway, laptop).get("/api/v1/me").status_code == 200


def test_a_signed_out_session_is_refused_at_once_by_every_gateway_instance(suite, admin, mail, other_gateway):
    _, laptop = confirmed_user(suite, admin, mail)
    elsewhere = on(other_gateway, laptop)
    assert elsewhere.get("/api/v1/me").status_code == 200

    assert laptop.post("/api/v1/auth/sign-out").status_code == 204

    assert elsewhere.get("/api/v1/me").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 401


def test_a_deleted_user_is_refused_on_the_very_next_request(suite, admin, mail, other_gateway):
    user, client = confirmed_user(suite, admin, mail)
    elsewhere = on(other_gateway, signed_in(suite.base_url, user["email"], STRONG))
    assert client.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 200

    assert admin.delete(f"/api/v1/users/{user['id']}").status_code == 204

    assert client.get("/api/v1/me").status_code == 401
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_a_permission_taken_away_takes_effect_on_the_very_next_request(suite, admin, mail, other_gateway):
    user, client = confirmed_user(suite, admin, mail, permissions=["view_dashboard", "view_settings"])
    elsewhere = on(other_gateway, signed_in(suite.base_url, user["email"], STRONG))
    assert client.get("/api/v1/security/password-policy").status_code == 200
    assert elsewhere.get("/api/v1/security/password-policy").status_code == 200

    updated = admin.patch(f"/api/v1/users/{user['id']}", json={"permissions": ["view_dashboard"]})

    assert updated.status_code == 200
    assert client.get("/api/v1/security/password-policy").status_code == 403
    assert elsewhere.get("/api/v1/security/password-policy").status_code == 403
    assert client.get("/api/v1/me").json()["permissions"] == ["view_dashboard"]


@pytest.mark.parametrize("token", ["bogus-token", "x" * 43, "y" * 500])
def test_a_token_that_is_no_session_is_401_with_an_invalid_token_challenge(suite, token):
    response = Client(suite.base_url, token=token).get("/api/v1/me")

    assert response.status_code == 401, response.text
    assert error_code(response) == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_request_without_a_token_gets_a_bare_bearer_challenge(suite):
    response = Client(suite.base_url).get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
