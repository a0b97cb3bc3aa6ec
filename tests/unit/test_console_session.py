"""The web console's session: the cookie-held token, its CSRF proof, and pages built from the API.

The gateway runs in process with a fake RPC client; no browser (tests/e2e/test_console_pages.py has those).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from contracts.errors import AccessDenied
from contracts.identity import Principal, UserView
from gateway.app import create_app
from gateway.auth import SESSION_COOKIE, csrf_token_for
from gateway.web.render import LOGIN_CSRF_COOKIE, human_bytes, money
from tests.support.fake_rpc import FakeRpcClient

TOKEN = "s" * 43


def principal(role: str = "administrator") -> dict:
    user = UserView(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="distributor", email="admin@example.com",
        credential_type="password", role=role, permissions=[], accessible_accounts="all",
        email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def browser(fake: FakeRpcClient, signed_in: bool = True) -> TestClient:
    client = TestClient(create_app(rpc_client_factory=lambda _: fake), follow_redirects=False)
    if signed_in:
        client.cookies.set(SESSION_COOKIE, TOKEN)
    return client


def methods(fake: FakeRpcClient) -> list[str]:
    return [recorded.call.method for recorded in fake.calls]


def test_a_cookie_session_reads_freely_but_changes_nothing_without_its_csrf_token():
    fake = FakeRpcClient({("identity", "check_session"): principal(),
                          ("tenancy", "subscribe_trials"): {"changed": 2}})
    http = browser(fake)

    assert http.get("/api/v1/me").status_code == 200
    refused = http.post("/api/v1/accounts/subscribe-trials", json={"plan": "monthly", "scope": "all"})
    forged = http.post("/api/v1/accounts/subscribe-trials", json={"plan": "monthly", "scope": "all"},
                       headers={"X-CSRF-Token": csrf_token_for("another session's token")})
    allowed = http.post("/api/v1/accounts/subscribe-trials", json={"plan": "monthly", "scope": "all"},
                        headers={"X-CSRF-Token": csrf_token_for(TOKEN)})

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert refused.json()["error"]["details"] == {"reason": "csrf_token_missing_or_wrong"}
    assert forged.status_code == 403
    assert allowed.status_code == 200 and allowed.json() == {"changed": 2}
    assert methods(fake).count("subscribe_trials") == 1


def test_a_bearer_token_needs_no_csrf_token():
    fake = FakeRpcClient({("identity", "check_session"): principal(),
                          ("tenancy", "subscribe_trials"): {"changed": 0}})
    http = browser(fake, signed_in=False)

    response = http.post("/api/v1/accounts/subscribe-trials", json={"plan": "annual", "scope": "all"},
                         headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200


def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back():
    response = browser(FakeRpcClient(), signed_in=False).get("/audit?status=failed")

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Faudit%3Fstatus%3Dfailed"


def test_signing_in_sets_an_http_only_same_site_cookie_and_needs_the_forms_token():
    reply = {"token": TOKEN, "expires_at": "2026-12-01T00:00:00Z", "user": principal()["user"],
             "password_expired": False}
    fake = FakeRpcClient({("identity", "sign_in"): reply})
    http = browser(fake, signed_in=False)
    form_token = http.get("/sign-in").cookies[LOGIN_CSRF_COOKIE]
    credentials = {"email": "admin@example.com", "password": "a lighthouse keeps the harbour"}

    stale = http.post("/sign-in", data={**credentials, "login_csrf": "not the form's"})
    assert stale.status_code == 403 and "sign_in" not in methods(fake)

    signed = http.post("/sign-in", data={**credentials, "login_csrf": form_token, "next": "/audit"})
    assert signed.status_code == 303 and signed.headers["location"] == "/audit"
    cookie = next(v for k, v in signed.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_sign_in_never_redirects_to_another_site():
    reply = {"token": TOKEN, "expires_at": "2026-12-01T00:00:00Z", "user": principal()["user"],
             "password_expired": False}
    http = browser(FakeRpcClient({("identity", "sign_in"): reply}), signed_in=False)
    form_token = http.get("/sign-in").cookies[LOGIN_CSRF_COOKIE]

    signed = http.post("/sign-in", data={"email": "a@example.com", "password": "x" * 12, "login_csrf": form_token,
                                         "next": "//evil.example/"})

    assert signed.headers["location"] == "/"


def test_an_untrusted_address_gets_the_access_denied_page():
    fake = FakeRpcClient({("identity", "sign_in"): AccessDenied("your address is not trusted")})
    http = browser(fake, signed_in=False)
    form_token = http.get("/sign-in").cookies[LOGIN_CSRF_COOKIE]

    page = http.post("/sign-in", data={"email": "a@example.com", "password": "x" * 12, "login_csrf": form_token})

    assert page.status_code == 403 and "<h1>Access Denied</h1>" in page.text


def test_a_console_form_without_the_pages_csrf_token_changes_nothing():
    fake = FakeRpcClient({("identity", "check_session"): principal()})
    http = browser(fake)

    response = http.post("/partners/new", data={"name": "Harbour MSP", "email": "msp@example.com",
                                                "country": "US", "data_center": "us-east-1"})

    assert response.status_code == 403
    assert "create_partner" not in methods(fake)


def test_a_refused_field_is_shown_next_to_that_field_and_the_input_is_kept():
    fake = FakeRpcClient({("identity", "check_session"): principal()})
    http = browser(fake)

    page = http.post("/partners/new", data={"csrf_token": csrf_token_for(TOKEN), "name": "Harbour MSP",
                                            "email": "not-an-email", "country": "US", "data_center": "us-east-1"})

    assert page.status_code == 422
    assert 'id="e-email"' in page.text and 'aria-invalid="true"' in page.text
    assert 'value="Harbour MSP"' in page.text
    assert "create_partner" not in methods(fake)


def test_sizes_and_money_are_shown_for_people():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KB"
    assert human_bytes(5 * 1024**4) == "5.0 TB"
    assert money("1234.5", "USD") == "USD 1,234.50"
    assert money(None, "USD") == "—"


def _answers() -> dict:
    from contracts.audit import AuditPage
    from contracts.billing import (
        AccountBillingPage,
        BillingDetailsView,
        BillingMethodView,
        CardList,
        HistoryPage,
        RollupList,
    )
    from contracts.identity import IpRestrictionsView, PasswordPolicyView, UserPage
    from contracts.learning import CourseList
    from contracts.notify import BackupRadarView, DeliveryPage, NotificationSettings, RecipientPage
    from contracts.site_content import SiteContentView
    from contracts.tenancy import AccountPage, AccountView, PartnerPage, TenantProfile
    from tests.unit.test_contracts import EXAMPLES

    def wire(model: type) -> dict:
        return EXAMPLES[model].to_wire()

    return {
        ("identity", "check_session"): principal(), ("tenancy", "list_partners"): wire(PartnerPage),
        ("billing", "billing_rollups"): wire(RollupList), ("tenancy", "get_partner"): wire(TenantProfile),
        ("tenancy", "list_accounts"): wire(AccountPage), ("tenancy", "get_account"): wire(AccountView),
        ("billing", "get_billing_method"): wire(BillingMethodView),
        ("billing", "billing_status"): wire(AccountBillingPage), ("billing", "billing_history"): wire(HistoryPage),
        ("billing", "get_billing_details"): wire(BillingDetailsView), ("billing", "list_cards"): wire(CardList),
        ("tenancy", "get_account_settings"): wire(TenantProfile), ("identity", "list_users"): wire(UserPage),
        ("identity", "get_ip_restrictions"): wire(IpRestrictionsView),
        ("identity", "get_password_policy"): wire(PasswordPolicyView), ("audit", "search"): wire(AuditPage),
        ("notify", "list_recipients"): wire(RecipientPage),
        ("notify", "get_notification_settings"): wire(NotificationSettings),
        ("notify", "get_backup_radar"): wire(BackupRadarView),
        ("notify", "list_webhook_deliveries"): wire(DeliveryPage), ("identity", "list_courses"): wire(CourseList),
        ("tenancy", "get_site_content"): wire(SiteContentView),
    }


PAGES = ["/", f"/partners/{uuid.uuid4()}", "/direct-accounts", "/partners/new", "/accounts/new",
         f"/accounts/{uuid.uuid4()}", "/billing", "/billing/history", "/billing/payment", "/settings/account",
         "/settings/users", "/settings/security", "/audit", "/notifications", "/integrations/backup-radar",
         "/learning", "/support", "/partner-zone", "/resources"]


def test_every_page_renders_from_the_apis_answers():
    http = browser(FakeRpcClient(_answers()))

    for path in PAGES:
        page = http.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert page.headers["content-type"].startswith("text/html") and "<h1>" in page.text, path
        assert csrf_token_for(TOKEN) in page.text, path  # every signed-in page can post back


def test_a_small_action_goes_through_the_api_and_back_with_what_happened():
    answers = _answers()
    added: list[tuple] = []
    answers[("tenancy", "add_backup_task")] = lambda *args: added.append(args) or _task()
    http = browser(FakeRpcClient(answers))
    account = uuid.uuid4()

    done = http.post(f"/accounts/{account}/backup-tasks",
                     data={"csrf_token": csrf_token_for(TOKEN), "service": "exchange", "name": "Mailboxes"})

    assert done.status_code == 303 and done.headers["location"].startswith(f"/accounts/{account}?notice=")
    assert added == [(str(account), {"service": "exchange", "name": "Mailboxes"})]


def _subscribe_form(page: str) -> dict[str, str]:
    """The hidden fields of the page's "Subscribe all trials" form, as a browser would post them."""
    form = re.search(r'<form method="post" action="/accounts/subscribe-trials".*?</form>', page, re.S)
    assert form is not None
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_subscribe_all_trials_applies_to_the_list_its_page_shows():
    answers = _answers()
    asked: list[dict] = []
    answers[("tenancy", "subscribe_trials")] = lambda request: asked.append(request) or {"changed": 1}
    http = browser(FakeRpcClient(answers))
    partner = uuid.uuid4()

    for path in ("/direct-accounts", f"/partners/{partner}"):
        done = http.post("/accounts/subscribe-trials", data={**_subscribe_form(http.get(path).text), "plan": "annual"})
        assert done.status_code == 303 and done.headers["location"].startswith(f"{path}?notice=1+trial"), path

    assert [(a["scope"], a["partner_id"]) for a in asked] == [("direct", None), ("partner", str(partner))]


def _task() -> dict:
    from contracts.tenancy import BackupTaskView
    from tests.unit.test_contracts import EXAMPLES

    return EXAMPLES[BackupTaskView].to_wire()


def _user(**changes) -> dict:
    user = UserView(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="distributor", email="bea@example.com",
        display_name="Bea Billing", credential_type="password", role="custom", permissions=["view_billing"],
        accessible_accounts="all", email_confirmed=True, two_factor_enabled=False,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    ).to_wire()
    return {**user, **changes}


def _page_of(*users: dict) -> dict:
    return {"items": list(users), "page": 1, "page_size": 25, "total": len(users)}


def test_an_administrator_edits_a_users_role_permissions_and_accounts_through_the_api():
    answers = _answers()
    user = _user()
    updated: list[tuple] = []

    def update_user(user_id: str, body: dict) -> dict:
        updated.append((user_id, body))
        user.update(body)
        return user

    answers[("identity", "get_user")] = lambda user_id: user
    answers[("identity", "update_user")] = update_user
    answers[("identity", "list_users")] = lambda *args: _page_of(user)
    http = browser(FakeRpcClient(answers))
    chosen = [str(uuid.uuid4()), str(uuid.uuid4())]

    form = http.get(f"/settings/users/{user['id']}")
    assert form.status_code == 200 and 'value="view_billing" checked' in form.text
    assert 'name="access" value="all" checked' in form.text and '<label for="f-account-search">' in form.text

    saved = http.post(f"/settings/users/{user['id']}", data={
        "csrf_token": csrf_token_for(TOKEN), "role": "custom",
        "permissions": ["view_dashboard", "account_view_billing"],
        "access": "chosen", "accounts": chosen})

    assert saved.status_code == 303 and saved.headers["location"].startswith("/settings/users?notice=")
    assert updated == [(user["id"], {"role": "custom", "permissions": ["view_dashboard", "account_view_billing"],
                                     "accessible_accounts": chosen})]
    listed = http.get(saved.headers["location"])
    assert "bea@example.com: saved." in listed.text
    assert "2 chosen" in listed.text and "Account view billing" in listed.text
    again = http.get(f"/settings/users/{user['id']}")
    assert 'name="access" value="chosen" checked' in again.text
    assert f'name="accounts" value="{chosen[1]}" checked' in again.text
    assert 'value="account_view_billing" checked' in again.text


def test_making_a_user_an_administrator_sends_no_permissions_and_all_accounts():
    answers = _answers()
    user = _user(accessible_accounts=[str(uuid.uuid4())])
    updated: list[tuple] = []
    answers[("identity", "update_user")] = lambda user_id, body: updated.append((user_id, body)) or user
    http = browser(FakeRpcClient(answers))

    saved = http.post(f"/settings/users/{user['id']}", data={
        "csrf_token": csrf_token_for(TOKEN), "role": "administrator", "permissions": ["view_dashboard"],
        "access": "all", "accounts": "ignored when all"})

    assert saved.status_code == 303
    assert updated == [(user["id"], {"role": "administrator", "permissions": [], "accessible_accounts": "all"})]


def test_a_refused_account_id_is_shown_next_to_the_accounts_and_the_choice_is_kept():
    answers = _answers()
    user = _user()
    answers[("identity", "get_user")] = lambda user_id: user
    fake = FakeRpcClient(answers)
    http = browser(fake)

    page = http.post(f"/settings/users/{user['id']}", data={
        "csrf_token": csrf_token_for(TOKEN), "role": "custom", "permissions": "view_dashboard",
        "access": "chosen", "accounts": "not-an-account-id"})

    assert page.status_code == 422
    assert 'id="e-accessible_accounts"' in page.text and 'aria-describedby="e-accessible_accounts"' in page.text
    assert 'name="accounts" value="not-an-account-id" checked' in page.text
    assert 'value="view_dashboard" checked' in page.text
    assert "update_user" not in methods(fake)


def test_the_last_administrator_refusal_is_shown_next_to_the_role():
    from contracts.errors import Conflict

    answers = _answers()
    user = _user(role="administrator", permissions=[])
    answers[("identity", "get_user")] = lambda user_id: user
    answers[("identity", "update_user")] = Conflict("a tenant keeps at least one administrator",
                                                    {"fields": [{"field": "role", "reason": "last administrator"}]})
    http = browser(FakeRpcClient(answers))

    page = http.post(f"/settings/users/{user['id']}", data={"csrf_token": csrf_token_for(TOKEN), "role": "custom",
                                                           "access": "all"})

    assert page.status_code == 409
    assert '<span class="error" id="e-role">last administrator</span>' in page.text


def test_the_invite_form_sends_the_chosen_role_permissions_and_accounts():
    answers = _answers()
    created: list[dict] = []
    answers[("identity", "create_user")] = lambda body: created.append(body) or _user(email=body["email"])
    http = browser(FakeRpcClient(answers))
    account = str(uuid.uuid4())

    page = http.get("/settings/users")
    assert 'name="access" value="all" checked' in page.text and 'aria-label="Edit ' in page.text
    done = http.post("/settings/users", data={
        "csrf_token": csrf_token_for(TOKEN), "email": "new@example.com", "role": "custom",
        "permissions": ["view_dashboard"], "access": "chosen", "accounts": account})

    assert done.status_code == 303
    assert len(created) == 1 and created[0]["email"] == "new@example.com" and created[0]["role"] == "custom"
    assert created[0]["permissions"] == ["view_dashboard"] and created[0]["accessible_accounts"] == [account]


def test_the_console_offers_every_permission_identity_knows_in_its_order():
    from gateway.web.pages import PERMISSIONS
    from services.identity.domain.permissions import PERMISSION_LABELS

    assert [key for key, _ in PERMISSIONS] == list(PERMISSION_LABELS)
