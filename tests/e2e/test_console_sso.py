"""Sign in with Microsoft or Google, in Chromium, against real OpenID Connect providers on
loopback (tests/e2e/oidc_provider.py; ``oidc_providers`` in conftest.py, one standing in for
each). Identity validates every ID token for real: signature (JWKS), issuer, audience,
expiry, nonce; the providers are made to issue the bad ones.

Each refusal must show a clear page and leave an entry in the security audit: in the tenant's
trail when the refusal names one of its users, else in the operators'. Only Playwright's
driver-side waits are used (see tests/e2e/browser.py).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser import TIMEOUT_MS
from tests.e2e.identity_client import OPERATOR, Client, new_distributor_admin, signed_in, unique_ip
from tests.e2e.test_suite_secrets_scan import SERVICES, database_text
from tests.support.fixtures import wait_for
from tests.support.oidc import OidcProvider

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a lighthouse keeps the harbour"


class Tenant:
    """A fresh distributor whose administrator (email and password) invites the SSO users."""

    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.email = new_distributor_admin(suite, "SSO E2E", "sso-e2e.example", PASSWORD)
        self.admin = Client(suite.base_url)
        assert self.admin.sign_in(self.email, PASSWORD).status_code == 200

    def invite(self, credential_type: str) -> str:
        email = f"{credential_type}-{uuid.uuid4().hex[:8]}@sso-e2e.example"
        created = self.admin.post("/api/v1/users", json={"email": email, "credential_type": credential_type,
                                                         "role": "administrator"})
        assert created.status_code == 201, created.text
        return email

    def invite_at(self, provider: OidcProvider, **claims: Any) -> tuple[str, str]:
        """A user invited to sign in with ``provider``, and a subject there whose ID tokens
        carry the user's verified email (``claims`` add to or override them)."""
        email = self.invite(provider.name)
        return email, new_subject(provider, email, **claims)

    def context(self, chromium: Any, ip: str | None = None) -> Any:
        context = chromium.new_context(extra_http_headers={"X-Forwarded-For": ip or unique_ip("198.18")},
                                      viewport={"width": 1366, "height": 900}, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        return context

    def audit_entry(self, email: str, outcome: str, reader: Client | None = None) -> dict[str, Any]:
        """The sign-in entry of ``email`` whose description says ``outcome`` (waits for it)."""
        def found() -> list[dict[str, Any]]:
            response = (reader or self.admin).get("/api/v1/audit", params={
                "page_size": 50, "activity": "sign_in", "performed_by": email})
            assert response.status_code == 200, response.text
            return [e for e in response.json()["items"] if outcome in e["description"]]
        return wait_for(found, timeout=20, message=f"an audit entry of {email} saying {outcome!r}")[0]


@pytest.fixture(scope="module")
def tenant(suite: Any) -> Tenant:
    return Tenant(suite)


@pytest.fixture
def context(tenant: Tenant, browser: Any) -> Iterator[Any]:
    context = tenant.context(browser)
    yield context
    context.close()


def new_subject(provider: OidcProvider, email: str, **claims: Any) -> str:
    subject = f"{provider.name}-{uuid.uuid4().hex[:10]}"
    provider.set_user(subject, {"email": email, "email_verified": True, **claims})
    return subject


def to_provider(page: Any, tenant: Tenant, provider: OidcProvider, path: str = "/sign-in") -> str:
    """From the portal's sign-in page to the provider's form; the ``state`` the portal sent."""
    page.goto(tenant.suite.base_url + path)
    page.get_by_role("link", name=f"Sign in with {provider.name.title()}").click()
    expect(page).to_have_url(re.compile(re.escape(provider.issuer) + "/oauth2/authorize"))
    return parse_qs(urlparse(page.url).query)["state"][0]


def authorize(page: Any, subject: str) -> None:
    """What the person does at the provider: says who they are and agrees."""
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()


def sign_in(page: Any, tenant: Tenant, provider: OidcProvider, subject: str, path: str = "/sign-in") -> str:
    state = to_provider(page, tenant, provider, path)
    authorize(page, subject)
    return state


def expect_signed_in_as(page: Any, tenant: Tenant, email: str) -> None:
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "portal_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    me = Client(tenant.suite.base_url, token=cookie["value"]).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == email


def sign_in_afresh(tenant: Tenant, chromium: Any, provider: OidcProvider, subject: str, email: str) -> str:
    """A whole sign-in in a browser of its own, ending on the dashboard; its session token."""
    context = tenant.context(chromium)
    try:
        page = context.new_page()
        sign_in(page, tenant, provider, subject)
        expect_signed_in_as(page, tenant, email)
        return str(next(c["value"] for c in context.cookies() if c["name"] == "portal_session"))
    finally:
        context.close()


def expect_refused(page: Any, provider: str, message: str) -> None:
    expect(page.get_by_role("heading", name=f"{provider} sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.get_by_role("link", name="Back to sign in")).to_have_attribute("href", "/sign-in")


# ---- signing in ---------------------------------------------------------------------------------


def test_the_sign_in_page_offers_each_configured_provider(tenant, context):
    page = context.new_page()
    page.goto(tenant.suite.base_url + "/sign-in")
    expect(page.get_by_role("link", name="Sign in with Microsoft")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with Google")).to_be_visible()


def test_microsoft_links_the_subject_at_first_sign_in_and_matches_it_after_the_email_changes(
        tenant, browser, oidc_providers):
    microsoft = oidc_providers["microsoft"]
    email, subject = tenant.invite_at(microsoft)
    sign_in_afresh(tenant, browser, microsoft, subject, email)
    user = next(u for u in tenant.admin.get("/api/v1/users", params={"search": email}).json()["items"])
    assert user["email_confirmed"] is True  # Microsoft vouched for the address

    # Later the address at Microsoft changes (and is not even verified): the subject still matches.
    microsoft.set_user(subject, {"email": "someone-else@elsewhere.example", "email_verified": False})
    sign_in_afresh(tenant, browser, microsoft, subject, email)
    assert tenant.audit_entry(email, "Microsoft sign in (OK)")["status"] == "completed"


def test_google_sign_in_opens_the_page_that_was_asked_for(tenant, context, oidc_providers):
    google = oidc_providers["google"]
    email = tenant.invite("google")
    subject = new_subject(google, email.upper())  # emails match in any case
    page = context.new_page()
    page.goto(tenant.suite.base_url + "/settings/users")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_role("link", name="Sign in with Google").click()
    authorize(page, subject)
    expect(page).to_have_url(tenant.suite.base_url + "/settings/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert tenant.audit_entry(email, "Google sign in (OK)")["status"] == "completed"


def test_an_administrator_invites_a_microsoft_user_who_then_signs_in_with_microsoft(
        tenant, context, browser, oidc_providers):
    page = context.new_page()
    page.goto(tenant.suite.base_url + "/sign-in")
    page.get_by_label("Email").fill(tenant.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(tenant.suite.base_url + "/settings/users")
    email = f"invited-{uuid.uuid4().hex[:8]}@sso-e2e.example"
    page.locator("#f-email").fill(email)
    page.get_by_label("Signs in with").select_option(label="Microsoft")
    page.get_by_role("button", name="Invite").click()
    row = page.get_by_role("row").filter(has_text=email)
    expect(row.get_by_role("cell", name="Microsoft")).to_be_visible()

    microsoft = oidc_providers["microsoft"]
    subject = new_subject(microsoft, email)
    invited = tenant.context(browser)
    try:
        invited_page = invited.new_page()
        sign_in(invited_page, tenant, microsoft, subject)
        expect(invited_page.get_by_role("navigation", name="Main")).to_be_visible()
        expect(invited_page).to_have_url(tenant.suite.base_url + "/")
    finally:
        invited.close()


def test_a_user_with_two_factor_is_asked_for_the_code_after_the_provider(tenant, browser, oidc_providers):
    google = oidc_providers["google"]
    email, subject = tenant.invite_at(google)
    user = Client(tenant.suite.base_url, token=sign_in_afresh(tenant, browser, google, subject, email))
    totp = pyotp.TOTP(user.post("/api/v1/me/two-factor/setup").json()["secret"])
    earlier = totp.at(time.time() - 30)  # the current step stays fresh for the browser
    assert user.post("/api/v1/me/two-factor/enable", json={"code": earlier}).status_code == 200

    second = tenant.context(browser)
    try:
        page = second.new_page()
        sign_in(page, tenant, google, subject)
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        page.get_by_label("Authentication code").fill("000000" if totp.now() != "000000" else "111111")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("wrong")
        page.get_by_label("Authentication code").fill(totp.now())
        page.get_by_role("button", name="Sign in").click()
        expect_signed_in_as(page, tenant, email)
    finally:
        second.close()
    assert tenant.audit_entry(email, "Google sign in (OK, two-factor)")["status"] == "completed"
    assert tenant.audit_entry(email, "Failed: wrong authentication code")["status"] == "failed"


# ---- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("claims", "message", "outcome"), [
    ({"aud": "another-application"}, "issued this sign-in for another application",
     "Failed: ID token issued for another application"),
    ({"exp": 1_000_000_000}, "sign-in answer has expired", "Failed: ID token expired"),
    ({"email_verified": False}, "has not verified your email address",
     "Failed: email not verified by the identity provider"),
], ids=["wrong_audience", "expired_id_token", "email_not_verified"])
def test_a_bad_id_token_is_refused_with_a_page_and_an_audit_entry(
        tenant, context, oidc_providers, claims, message, outcome):
    microsoft = oidc_providers["microsoft"]
    email, subject = tenant.invite_at(microsoft, **claims)
    page = context.new_page()
    sign_in(page, tenant, microsoft, subject)
    expect_refused(page, "Microsoft", message)
    assert not any(c["name"] == "portal_session" for c in context.cookies())
    entry = tenant.audit_entry(email, outcome)
    assert entry["status"] == "failed" and entry["description"].startswith("Microsoft sign in")


def test_an_unknown_user_is_refused_and_recorded_in_the_operators_trail(tenant, context, oidc_providers):
    google = oidc_providers["google"]
    stranger = f"stranger-{uuid.uuid4().hex[:8]}@elsewhere.example"
    subject = new_subject(google, stranger)
    page = context.new_page()
    sign_in(page, tenant, google, subject)
    expect_refused(page, "Google", "Ask your administrator to invite you")
    operator = signed_in(tenant.suite.base_url, *OPERATOR)
    assert tenant.audit_entry(stranger, "Failed: no such user", reader=operator)["status"] == "failed"


def test_a_password_user_cannot_be_signed_in_through_a_provider(tenant, context, oidc_providers):
    google = oidc_providers["google"]
    subject = new_subject(google, tenant.email)
    page = context.new_page()
    sign_in(page, tenant, google, subject)
    expect_refused(page, "Google", "Ask your administrator to invite you")
    assert tenant.audit_entry(tenant.email, "Failed: user does not sign in this way")["status"] == "failed"


def test_a_replayed_state_is_refused_with_a_page_and_an_audit_entry(tenant, context, oidc_providers):
    microsoft = oidc_providers["microsoft"]
    email, subject = tenant.invite_at(microsoft)
    page = context.new_page()
    state = sign_in(page, tenant, microsoft, subject)
    expect_signed_in_as(page, tenant, email)

    page.goto(f"{tenant.suite.base_url}/sign-in/microsoft/callback?state={state}&code=replayed-code")
    expect_refused(page, "Microsoft", "already used")
    assert tenant.audit_entry(email, "Failed: sign-in link already used (replayed)")["status"] == "failed"


def test_a_callback_carried_to_another_browser_is_refused(tenant, browser, oidc_providers):
    microsoft = oidc_providers["microsoft"]
    _, subject = tenant.invite_at(microsoft)
    victim, attacker = tenant.context(browser), tenant.context(browser)
    try:
        started = attacker.new_page()
        to_provider(started, tenant, microsoft)
        # The attacker's authorization page opened in another browser (login CSRF).
        page = victim.new_page()
        page.goto(started.url)
        authorize(page, subject)
        expect_refused(page, "Microsoft", "started in another browser")
        assert not any(c["name"] == "portal_session" for c in victim.cookies())
    finally:
        victim.close()
        attacker.close()


def test_an_ip_restricted_user_is_refused_after_the_provider(suite, browser, oidc_providers):
    restricted = Tenant(suite)  # its own tenant: the restriction locks out nobody else
    email, subject = restricted.invite_at(oidc_providers["microsoft"])
    entry = restricted.admin.post("/api/v1/security/ip-restrictions/entries",
                                  json={"description": "office", "addresses": restricted.admin.ip})
    assert entry.status_code in (200, 201), entry.text
    enabled = restricted.admin.put("/api/v1/security/ip-restrictions", json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    context = restricted.context(browser, ip="203.0.113.77")
    try:
        page = context.new_page()
        sign_in(page, restricted, oidc_providers["microsoft"], subject)
        expect(page.get_by_role("heading", name="Access Denied")).to_be_visible()
        expect(page.get_by_text("203.0.113.77")).to_be_visible()
        assert not any(c["name"] == "portal_session" for c in context.cookies())
    finally:
        context.close()
    assert restricted.audit_entry(email, "Failed: address not trusted")["status"] == "failed"


def test_the_sign_in_secrets_never_appear_in_databases_events_or_logs(suite, tenant, oidc_providers):
    """The same flow through the API, to hold every secret of it: none is stored or logged."""
    google = oidc_providers["google"]
    email, subject = tenant.invite_at(google)
    client = Client(suite.base_url)
    started = client.post("/api/v1/auth/sso/google", json={"next": "/"}).json()
    at_provider = requests.post(started["authorization_url"], data={"sub": subject}, allow_redirects=False,
                                timeout=10)
    answer = parse_qs(urlparse(at_provider.headers["location"]).query)
    state, code = answer["state"][0], answer["code"][0]
    finished = client.post("/api/v1/auth/sso/google/callback",
                           json={"state": state, "code": code, "browser_key": started["browser_key"]})
    assert finished.status_code == 200, finished.text
    assert finished.json()["session"]["user"]["email"] == email
    tenant.audit_entry(email, "Google sign in (OK)")  # the events have gone all the way

    secrets = {"state": state, "authorization code": code, "browser key": started["browser_key"],
               "session token": finished.json()["session"]["token"],
               **{f"{name} client secret": suite.env[f"IDENTITY_{name.upper()}_CLIENT_SECRET"]
                  for name in oidc_providers}}
    places = {f"{service} database": database_text(suite.env[f"{service.upper()}_DATABASE_URL"])
              for service in SERVICES}
    places.update({f"{name} log": path.read_text(errors="replace") for name, path in suite.log_paths.items()})
    assert [f"{name} in {place}" for place, text in places.items()
            for name, secret in secrets.items() if secret in text] == []
