"""The web console in a real browser: Playwright driving Debian's Chromium against the suite.

A fresh distributor for the module (made by the operator), so the demo data and other
tests never count, and its IP restrictions lock out nobody else. Each browser context
speaks for its own client address (``X-Forwarded-For``; the suite trusts 127.0.0.1 as a
proxy), as the API tests do.

Chromium: ``apt-get install chromium`` (CI does it in ``.ci/run``). Without it these tests
skip locally and fail when ``CI=true``.

Only Playwright's driver-side waits are used (``expect``, locator actions): its client-side
waiters (``wait_for_url``, ``expect_download``) never finish under the eventlet
monkey-patching of the root conftest.py.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import requests
from playwright.sync_api import expect

from gateway.auth import csrf_token_for
from tests.e2e.browser import TIMEOUT_MS
from tests.e2e.identity_client import OPERATOR, Client, Mailbox, error_code, signed_in, unique_ip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a lighthouse keeps the harbour"


class World:
    """A fresh distributor whose administrator has two-factor authentication on."""

    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.tag = uuid.uuid4().hex[:8]
        self.email = f"admin-{self.tag}@console-e2e.example"
        operator = signed_in(suite.base_url, *OPERATOR)
        created = operator.post("/api/v1/operator/distributors", json={
            "name": f"Console E2E {self.tag}", "email": f"dist-{self.tag}@console-e2e.example", "country": "US",
            "data_center": "us-east-1", "admin_email": self.email, "admin_password": PASSWORD})
        assert created.status_code == 201, created.text
        token = Mailbox(suite.var_dir).new_confirmation_token(self.email, timeout=30)
        self.api = Client(suite.base_url)
        assert self.api.post("/api/v1/auth/confirm-email", json={"token": token}).status_code == 204
        assert self.api.sign_in(self.email, PASSWORD).status_code == 200
        secret = self.api.post("/api/v1/me/two-factor/setup").json()["secret"]
        self.totp = pyotp.TOTP(secret)
        # The previous step's code: the current one stays fresh for the browser's sign-in.
        earlier = self.totp.at(datetime.now(UTC) - timedelta(seconds=30))
        enabled = self.api.post("/api/v1/me/two-factor/enable", json={"code": earlier})
        assert enabled.status_code == 200, enabled.text

    def context(self, browser: Any, ip: str | None = None) -> Any:
        context = browser.new_context(extra_http_headers={"X-Forwarded-For": ip or unique_ip("198.18")},
                                      viewport={"width": 1366, "height": 900}, locale="en-US",
                                      accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        return context


@pytest.fixture(scope="module")
def world(suite: Any) -> World:
    return World(suite)


@pytest.fixture(scope="module")
def page(world: World, browser: Any) -> Iterator[Any]:
    """The administrator, signed in through the console's 2FA step (one browser session)."""
    context = world.context(browser)
    page = context.new_page()
    page.goto(world.suite.base_url + "/")
    assert page.url.endswith("/sign-in")
    page.get_by_label("Email").fill(world.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    code = page.get_by_label("Authentication code")
    code.wait_for()
    code.fill(world.totp.now())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(world.suite.base_url + "/")
    yield page
    context.close()


def test_signing_in_asks_for_the_second_factor_then_opens_the_dashboard(world, page):
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "portal_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Security audit")).to_be_visible()


def test_a_wrong_password_is_shown_on_the_sign_in_form(world, browser):
    context = world.context(browser)
    try:
        page = context.new_page()
        page.goto(world.suite.base_url + "/sign-in")
        page.get_by_label("Email").fill(world.email)
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text(re.compile("invalid|wrong|incorrect", re.I))
        assert page.url.endswith("/sign-in")
    finally:
        context.close()


def test_adding_a_partner_shows_field_errors_then_opens_the_new_partner(world, page):
    page.goto(world.suite.base_url + "/")
    page.get_by_role("link", name="Add partner").click()
    page.get_by_label("Company name").fill(f"Harbour MSP {world.tag}")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("combobox", name="Country").fill("US")
    page.get_by_label("Data center location").select_option(label="EU (Ireland)")
    page.get_by_role("button", name="Add partner").click()
    expect(page.locator("#e-email")).to_contain_text(re.compile(r"\S"))
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Company name")).to_have_value(f"Harbour MSP {world.tag}")

    page.get_by_label("Email").fill(f"msp-{world.tag}@console-e2e.example")
    page.get_by_role("button", name="Add partner").click()
    expect(page).to_have_url(re.compile(r"/partners/[0-9a-f-]{36}"))
    expect(page.get_by_role("heading", name=f"Harbour MSP {world.tag}")).to_be_visible()
    expect(page.locator(".notice")).to_contain_text("added")
    expect(page.get_by_text("EU (Ireland)")).to_be_visible()
    expect(page.get_by_text("0 of 0 total accounts")).to_be_visible()


def test_adding_an_account_and_subscribing_all_trials(world, page):
    page.goto(world.suite.base_url + "/")
    page.get_by_role("link", name=f"Harbour MSP {world.tag}").click()
    page.get_by_role("link", name="Add account").click()
    page.get_by_label("Account (company) name").fill("Lighthouse Dental")
    page.get_by_label("Email").fill(f"it-{world.tag}@lighthouse.example")
    page.get_by_role("button", name="Add account").click()
    expect(page).to_have_url(re.compile(r"/partners/[0-9a-f-]{36}"))
    row = page.get_by_role("row").filter(has_text="Lighthouse Dental")
    expect(row.get_by_text("Trial in progress")).to_be_visible()
    expect(page.locator("[data-counter=trial-in-progress]")).to_have_text("1")

    page.get_by_label("Annual").check()
    page.get_by_role("button", name="Subscribe all trials").click()
    expect(page.locator(".notice")).to_have_text("1 trial account(s) subscribed to the annual plan.")
    expect(row.get_by_text("Annual subscription")).to_be_visible()
    expect(page.locator("[data-counter=trial-in-progress]")).to_have_text("0")


def test_the_dashboard_filters_in_place_and_drills_into_a_partner(world, page):
    api = world.api
    for name in ("Quay Partners", "Beacon Partners"):
        response = api.post("/api/v1/partners", json={"name": f"{name} {world.tag}", "country": "US",
                                                      "email": f"{name.split()[0].lower()}-{world.tag}@c.example",
                                                      "data_center": "us-east-1"})
        assert response.status_code == 201, response.text
    page.goto(world.suite.base_url + "/")
    partner_rows = page.locator("tr[data-row=partner]")
    expect(partner_rows).to_have_count(3)

    page.get_by_label("Search by name or email").fill("beacon")
    expect(page).to_have_url(re.compile(r"search=beacon"))
    expect(partner_rows).to_have_count(1)
    expect(partner_rows).to_contain_text(f"Beacon Partners {world.tag}")

    page.get_by_label("Search by name or email").fill("")
    page.get_by_label("Task status").select_option("no_accounts_yet")
    expect(page).to_have_url(re.compile(r"task_status=no_accounts_yet"))
    expect(page.get_by_text("Page 1 of 1, showing 1\u20132 of 2")).to_be_visible()
    expect(page.get_by_role("link", name=f"Harbour MSP {world.tag}")).to_have_count(0)

    page.get_by_role("link", name=f"Quay Partners {world.tag}").click()
    expect(page.get_by_role("heading", name=f"Quay Partners {world.tag}")).to_be_visible()
    expect(page.get_by_text("No accounts yet.")).to_be_visible()


def test_the_security_audit_filters_and_exports_csv(world, page):
    rows = page.locator("#results tbody tr")
    subscribed = rows.filter(has_text="Subscribed to plan").filter(has_text="Lighthouse Dental")
    for _ in range(20):  # the trail is written from events: give them a moment to arrive
        page.goto(world.suite.base_url + "/audit")
        if subscribed.count():
            break
        page.wait_for_timeout(500)
    expect(rows.filter(has_text="Sign in").first).to_be_visible()
    page.get_by_label("Activity").select_option("subscribed_to_plan")
    expect(page).to_have_url(re.compile(r"activity=subscribed_to_plan"))
    expect(rows.filter(has_text="Sign in")).to_have_count(0)
    expect(subscribed.first).to_be_visible()

    # The link downloads straight from the API with the browser's cookie session. Fetched through
    # the page's own request context (its cookies): Playwright's download event is one of its
    # client-side waits, which never end under the tests' eventlet monkey-patching.
    link = page.get_by_role("link", name="Export CSV")
    expect(link).to_have_attribute("href", "/api/v1/audit/export.csv?activity=subscribed_to_plan")
    export = page.request.get(world.suite.base_url + link.get_attribute("href"))
    assert export.ok and export.headers["content-type"].startswith("text/csv")
    assert re.search(r'filename="security-audit-\d{8}-\d{6}\.csv"', export.headers["content-disposition"])
    exported = list(csv.reader(io.StringIO(export.text().lstrip("\ufeff"))))
    assert len(exported) >= 2 and all("Lighthouse Dental" in ",".join(line) for line in exported[1:])


def test_the_audit_account_filter_suggests_account_names(world, page):
    page.goto(world.suite.base_url + "/audit")
    expect(page.locator("#account-options option[value='Lighthouse Dental']")).to_have_count(1)
    page.get_by_label("Account", exact=True).fill("Lighthouse")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"account=Lighthouse"))
    rows = page.locator("#results tbody tr")
    expect(rows.filter(has_text="Lighthouse Dental").first).to_be_visible()
    expect(rows.filter(has_text="Harbour MSP").filter(has_not_text="Lighthouse")).to_have_count(0)


def test_ip_restrictions_refuse_a_lockout_and_then_deny_other_addresses(world, browser, page):
    page.goto(world.suite.base_url + "/settings/security")
    your_ip = page.locator("[data-your-ip]").inner_text()
    assert re.fullmatch(r"198\.18\.\d+\.\d+", your_ip)
    page.get_by_role("button", name="Turn IP restrictions on").click()
    expect(page.get_by_role("alert")).to_contain_text("lock yourself out")
    expect(page.locator("[data-ip-enabled]")).to_have_text("off")

    page.get_by_label("Description").fill("Head office")
    page.get_by_label("Addresses (comma-separated)").fill(your_ip)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="Head office").filter(has_text=your_ip)).to_be_visible()
    # The first list that includes the caller's own address turns restrictions on, and says so.
    expect(page.locator(".notice")).to_have_text(
        f"Trusted address added. IP restrictions are now on: the list includes your address {your_ip}.")
    expect(page.locator("[data-ip-enabled]")).to_have_text("on")

    elsewhere = world.context(browser, ip=unique_ip("192.0.2"))
    try:
        other = elsewhere.new_page()
        other.goto(world.suite.base_url + "/sign-in")
        other.get_by_label("Email").fill(world.email)
        other.get_by_label("Password").fill(PASSWORD)
        other.get_by_role("button", name="Sign in").click()
        expect(other.get_by_role("heading", name="Access Denied")).to_be_visible()
    finally:
        elsewhere.close()
        page.get_by_role("button", name="Turn IP restrictions off").click()
    expect(page.locator("[data-ip-enabled]")).to_have_text("off")


def test_a_cookie_session_needs_the_csrf_token_to_change_anything_and_bearer_does_not(world, page):
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "portal_session")
    ip = unique_ip("198.18")
    url = world.suite.base_url + "/api/v1/notifications/recipients"
    body = {"email": f"ops-{world.tag}@console-e2e.example", "types": ["summary_report"]}
    headers = {"X-Forwarded-For": ip, "Cookie": f"portal_session={token}"}
    assert requests.get(url, headers=headers, timeout=15).status_code == 200
    refused = requests.post(url, json=body, headers=headers, timeout=15)
    assert refused.status_code == 403 and error_code(refused) == "permission_denied"
    forged = requests.post(url, json=body, headers={**headers, "X-CSRF-Token": "0" * 64}, timeout=15)
    assert forged.status_code == 403
    allowed = requests.post(url, json=body, headers={**headers, "X-CSRF-Token": csrf_token_for(token)}, timeout=15)
    assert allowed.status_code == 201, allowed.text
    # A console form posted without the page's token changes nothing either.
    form = requests.post(world.suite.base_url + "/notifications/recipients", headers=headers, timeout=15,
                         data={"email": f"forged-{world.tag}@console-e2e.example", "types": "summary_report"},
                         allow_redirects=False)
    assert form.status_code == 403
    bearer = world.api.post("/api/v1/notifications/recipients",
                            json={"email": f"api-{world.tag}@console-e2e.example", "types": ["trial_accounts_report"]})
    assert bearer.status_code == 201, bearer.text


def test_the_learning_hub_keeps_each_users_progress(world, page):
    courses = world.api.get("/api/v1/learning-hub/courses").json()["items"]
    assert len(courses) >= 3 and all(course["progress_percent"] == 0 for course in courses)
    first = courses[0]
    page.goto(world.suite.base_url + "/learning")
    expect(page.locator("[data-counter=courses-started]")).to_have_text("0")
    card = page.locator(f"article[data-course='{first['slug']}']")
    card.get_by_label("Set progress").select_option("25")
    card.get_by_role("button", name="Save progress").click()
    expect(page.locator(".notice")).to_have_text("Progress saved.")
    expect(card.locator("[data-percent]")).to_have_text("25%")
    card.get_by_label("Set progress").select_option("50")
    card.get_by_role("button", name="Save progress").click()
    expect(card.locator("[data-percent]")).to_have_text("50%")  # the progress moves
    expect(page.locator("[data-counter=courses-started]")).to_have_text("1")
    mine = {c["id"]: c for c in world.api.get("/api/v1/learning-hub/courses").json()["items"]}
    assert mine[first["id"]]["progress_percent"] == 50

    page.get_by_label("Search courses").fill(first["title"].split()[0])
    page.get_by_role("button", name="Search").click()
    expect(page.locator(f"article[data-course='{first['slug']}']")).to_be_visible()
    page.get_by_label("Search courses").fill("no course is called this")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("article")).to_have_count(0)
    expect(page.get_by_text("No course matches")).to_be_visible()
    done = world.api.put(f"/api/v1/learning-hub/courses/{first['id']}/progress", json={"percent": 100})
    assert done.status_code == 200 and done.json()["completed_at"] is not None
    summary = world.api.get("/api/v1/learning-hub/courses", params={"search": "no course is called this"}).json()
    assert summary["items"] == [] and (summary["completed"], summary["started"]) == (1, 0)
    assert world.api.put(f"/api/v1/learning-hub/courses/{first['id']}/progress",
                         json={"percent": 101}).status_code == 422
    assert world.api.put(f"/api/v1/learning-hub/courses/{uuid.uuid4()}/progress",
                         json={"percent": 5}).status_code == 404
    someone_else = signed_in(world.suite.base_url, *OPERATOR).get("/api/v1/learning-hub/courses").json()["items"]
    assert next(c for c in someone_else if c["id"] == first["id"])["progress_percent"] == 0


def test_an_administrator_invites_then_edits_a_users_role_permissions_and_accounts(world, page):
    created = world.api.post("/api/v1/accounts", json={"name": f"Pier Clinic {world.tag}",
                                                       "email": f"pier-{world.tag}@console-e2e.example"})
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    email = f"clerk-{world.tag}@console-e2e.example"
    page.goto(world.suite.base_url + "/settings/users")
    page.locator("#f-email").fill(email)
    page.get_by_label("Custom", exact=True).check()
    page.get_by_label("View dashboard").check()
    page.get_by_role("button", name="Invite").click()
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("View dashboard")
    expect(row).to_contain_text("All")

    row.get_by_role("link", name=f"Edit {email}").click()
    page.get_by_label("Find accounts by name or email").fill(f"Pier Clinic {world.tag}")
    page.get_by_label("Status", exact=True).select_option("trial_started")
    page.get_by_role("button", name="Find").click()
    found = page.get_by_role("list", name="Accounts found")
    expect(found.get_by_role("checkbox")).to_have_count(1)
    page.get_by_label("Status", exact=True).select_option("monthly_subscribed")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("list", name="Accounts found")).to_contain_text("No account matches")
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Find accounts by name or email").fill("no account is called this")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("list", name="Accounts found")).to_contain_text("No account matches")
    page.get_by_label("Find accounts by name or email").fill(f"Pier Clinic {world.tag}")
    page.get_by_role("button", name="Find").click()

    page.get_by_label("View billing and manage payment").check()
    page.get_by_label("Only the accounts listed below").check()
    page.get_by_role("list", name="Accounts found").get_by_label(f"Pier Clinic {world.tag}").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("saved")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("1 chosen")
    expect(row).to_contain_text("View billing")
    users = world.api.get("/api/v1/users", params={"search": "clerk-"}).json()["items"]
    mine = next(u for u in users if u["email"] == email)
    assert mine["role"] == "custom" and mine["accessible_accounts"] == [account_id]
    assert sorted(mine["permissions"]) == ["view_billing", "view_dashboard"]
    row.get_by_role("link", name=f"Edit {email}").click()
    expect(page.get_by_label(f"Pier Clinic {world.tag}")).to_be_checked()
