"""A portal for each tier, in Chromium: a partner's home is its own customer accounts, a
customer account's home is the account itself; every link and form on each tier's home page
is one its user may use; the account-operations permissions hide pages and refuse them."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import browser_context
from tests.e2e.identity_client import Client, Mailbox, new_distributor_admin, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a harbour light in the fog"


class Tree:
    """A distributor, one of its partners and one of the partner's customer accounts, each
    with its administrator signed in through the API."""

    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.tag = uuid.uuid4().hex[:8]
        self.mail = Mailbox(suite.var_dir)
        self.distributor_email = new_distributor_admin(suite, "Tiers E2E", "tiers-e2e.example", PASSWORD)
        distributor = signed_in(suite.base_url, self.distributor_email, PASSWORD)
        self.partner_email = f"msp-{self.tag}@tiers-e2e.example"
        partner = distributor.post("/api/v1/partners", json={
            "name": f"Harbour MSP {self.tag}", "email": self.partner_email, "country": "US",
            "data_center": "us-east-1"})
        assert partner.status_code == 201, partner.text
        self.partner_id = partner.json()["id"]
        self.partner = self.confirmed(self.partner_email)
        self.customer_email = f"it-{self.tag}@dental-tiers.example"
        account = self.partner.post("/api/v1/accounts", json={"name": f"Lighthouse Dental {self.tag}",
                                                              "email": self.customer_email,
                                                              "partner_id": self.partner_id})
        assert account.status_code == 201, account.text
        self.account_id = account.json()["id"]
        self.customer = self.confirmed(self.customer_email)

    def confirmed(self, email: str) -> Client:
        token = self.mail.new_link(email, "/confirm-email", timeout=30).split("token=")[1]
        confirmed = Client(self.suite.base_url).post("/api/v1/auth/confirm-email",
                                                     json={"token": token, "password": PASSWORD})
        assert confirmed.status_code == 204, confirmed.text
        return signed_in(self.suite.base_url, email, PASSWORD)

    def custom_user(self, admin: Client, permissions: list[str]) -> str:
        email = f"custom-{uuid.uuid4().hex[:8]}@tiers-e2e.example"
        created = admin.post("/api/v1/users", json={"email": email, "role": "custom", "permissions": permissions,
                                                    "password": PASSWORD})
        assert created.status_code == 201, created.text
        token = self.mail.new_link(email, "/confirm-email", timeout=30).split("token=")[1]
        assert Client(self.suite.base_url).post("/api/v1/auth/confirm-email",
                                                json={"token": token}).status_code == 204
        return email


@pytest.fixture(scope="module")
def tree(suite: Any) -> Tree:
    return Tree(suite)


def console_as(browser: Any, suite: Any, email: str) -> Any:
    context = browser_context(browser)
    page = context.new_page()
    page.goto(suite.base_url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(suite.base_url + "/")
    return page


def menu(page: Any) -> list[str]:
    return page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()


def test_a_partner_users_day(tree, browser):
    page = console_as(browser, tree.suite, tree.partner_email)
    expect(page.get_by_role("heading", name=f"Harbour MSP {tree.tag}")).to_be_visible()
    assert "Customer accounts" in menu(page)
    for absent in ("Add partner", "Add direct account", "Direct Accounts"):
        expect(page.get_by_text(absent)).to_have_count(0)
    expect(page.get_by_text("Billing is not answering")).to_have_count(0)
    assert not {"Status", "History", "Payment details", "Integrations"} & set(menu(page))
    assert {"Users", "Account", "Security", "Security audit", "Notifications"} <= set(menu(page))

    page.get_by_role("link", name="Add account").click()
    page.get_by_label("Account (company) name").fill(f"Quay Clinic {tree.tag}")
    page.get_by_label("Email").fill(f"quay-{tree.tag}@clinic-tiers.example")
    page.get_by_role("button", name="Add account").click()
    expect(page).to_have_url(re.compile(r"/\?notice="))
    row = page.get_by_role("row").filter(has_text=f"Quay Clinic {tree.tag}")
    expect(row.get_by_text("Trial in progress")).to_be_visible()

    page.get_by_label("Monthly").check()
    page.get_by_role("button", name="Subscribe all trials").click()
    expect(page.locator(".notice")).to_contain_text("subscribed to the monthly plan")
    expect(row.get_by_text("Monthly subscription")).to_be_visible()

    row.get_by_role("link", name=f"Quay Clinic {tree.tag}").click()
    expect(page.get_by_role("heading", name=f"Quay Clinic {tree.tag}")).to_be_visible()
    expect(page.get_by_role("heading", name="Backup tasks")).to_be_visible()
    page.context.close()


def test_a_customer_users_day(tree, browser):
    page = console_as(browser, tree.suite, tree.customer_email)
    expect(page.get_by_role("heading", name=f"Lighthouse Dental {tree.tag}")).to_be_visible()
    assert menu(page)[0] == "Backups"
    assert not {"Notifications", "Status", "Integrations"} & set(menu(page))
    expect(page.get_by_text("Remove account")).to_have_count(0)
    expect(page.get_by_text("Delete trial")).to_have_count(0)

    page.get_by_label("Task name").fill("Front desk mailboxes")
    page.get_by_role("button", name="Add backup task").click()
    task = page.locator("tr[data-task='Front desk mailboxes']")
    expect(task).to_contain_text("Inactive")
    task.get_by_role("button", name="Activate").click()
    expect(page.locator("tr[data-task='Front desk mailboxes']")).to_contain_text("Active")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_role("heading", name="Account settings")).to_be_visible()
    expect(page.get_by_label("Default subscription of new accounts")).to_have_count(0)
    page.get_by_label("Phone").fill("+1 555 0100")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text("Account settings saved.")
    for item, heading in (("Users", "Users"), ("Security", "Security"), ("Security audit", "Security audit")):
        page.get_by_role("navigation", name="Main").get_by_role("link", name=item, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.context.close()


# Forms a home page has only while there is something to act on (a trial to delete).
OPTIONAL_FORMS = {"distributor": set(), "partner": {"POST /accounts/{account}/delete"}, "account": set()}
EXPECTED_FORMS = {
    "distributor": {"GET /", "POST /sign-out"},
    "partner": {"GET /", "POST /accounts/subscribe-trials", "POST /sign-out"},
    "account": {"POST /accounts/{account}/backup-tasks", "POST /sign-out"},
}


@pytest.mark.parametrize("tier", ["distributor", "partner", "account"])
def test_every_control_on_the_home_page_is_usable_by_its_user(tree, browser, tier):
    email = {"distributor": tree.distributor_email, "partner": tree.partner_email,
             "account": tree.customer_email}[tier]
    page = console_as(browser, tree.suite, email)
    hrefs = {urlsplit(h).path for h in page.locator("a[href]").evaluate_all("els => els.map(e => e.href)")
             if urlsplit(h).netloc == urlsplit(tree.suite.base_url).netloc}
    assert hrefs, "the home page has links"
    for path in sorted(hrefs):
        answer = page.request.get(tree.suite.base_url + path, max_redirects=0)
        assert answer.status in (200, 303), f"{tier}: {path} answered {answer.status}"
        if answer.status == 200 and "html" in answer.headers.get("content-type", ""):
            title = re.search(r"<title>(.*?)</title>", answer.text(), re.S)
            assert title and not re.search(r"Access Denied|Not found|Error", title.group(1)), (tier, path, title)
    forms = page.locator("main form, header form").evaluate_all(
        "els => els.map(f => (f.getAttribute('method') || 'get').toUpperCase() + ' ' + new URL(f.action).pathname)")
    found = {re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{account}", form) for form in forms if not form.startswith("DIALOG")}
    assert EXPECTED_FORMS[tier] <= found <= EXPECTED_FORMS[tier] | OPTIONAL_FORMS[tier], found
    page.context.close()


def test_account_operation_permissions_hide_pages_and_refuse_them(tree, browser):
    limited = tree.custom_user(tree.customer, ["view_dashboard"])
    allowed = tree.custom_user(tree.customer, ["view_dashboard", "account_view_settings", "account_view_support"])

    page = console_as(browser, tree.suite, limited)
    assert not {"Account", "Support"} & set(menu(page))
    expect(page.get_by_role("heading", name="Backup tasks")).to_be_visible()
    expect(page.get_by_text("Subscription", exact=True)).to_have_count(0)  # "View billing page" is not granted
    for path in ("/settings/account", "/support"):
        page.goto(tree.suite.base_url + path)
        expect(page.get_by_role("heading", name="Access Denied")).to_be_visible()
    page.context.close()
    assert signed_in(tree.suite.base_url, limited, PASSWORD).get("/api/v1/settings/account").status_code == 403

    looker = tree.custom_user(tree.partner, ["view_dashboard"])  # a partner's user opening an account
    page = console_as(browser, tree.suite, looker)
    page.goto(f"{tree.suite.base_url}/accounts/{tree.account_id}")
    expect(page.get_by_role("heading", name="Backup tasks")).to_be_visible()
    expect(page.get_by_text("Subscription", exact=True)).to_have_count(0)
    assert "Support" in menu(page)  # above an account, support is everyone's
    page.context.close()

    page = console_as(browser, tree.suite, allowed)
    assert {"Account", "Support"} <= set(menu(page))
    expect(page.get_by_text("Subscription", exact=True)).to_have_count(0)  # still not granted
    page.goto(tree.suite.base_url + "/settings/account")
    expect(page.get_by_role("heading", name="Account settings")).to_be_visible()
    page.context.close()
    assert signed_in(tree.suite.base_url, allowed, PASSWORD).get("/api/v1/settings/account").status_code == 200


PAGES_OF_A_DISTRIBUTOR = ["/", "/billing", "/billing/history", "/billing/payment", "/audit", "/settings/account",
                          "/settings/users", "/settings/security", "/notifications", "/integrations/backup-radar",
                          "/learning", "/partner-zone", "/resources", "/support"]


def test_the_menu_is_grouped_and_marks_exactly_one_page_as_current(tree, browser):
    page = console_as(browser, tree.suite, tree.distributor_email)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("list", name="Billing").get_by_role("link")).to_have_text(
        ["Status", "History", "Payment details"])
    expect(nav.get_by_role("list", name="Settings").get_by_role("link")).to_have_text(
        ["Account", "Users", "Security", "Notifications", "Integrations"])
    for path in PAGES_OF_A_DISTRIBUTOR:
        page.goto(tree.suite.base_url + path)
        current = nav.locator("[aria-current=page]")
        expect(current).to_have_count(1)
        assert current.get_attribute("href") == path, (path, current.get_attribute("href"))
    page.context.close()
