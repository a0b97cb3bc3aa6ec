"""Lists in Chromium: sortable headers that keep the filters, Clear filters, "N of M" counts,
empty states that say what to do, billing columns for those who see money, and deleting a
trial from its row through a confirmation dialog."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import browser_context
from tests.e2e.identity_client import Client, Mailbox, new_distributor_admin, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a breakwater in the rain"
ACCOUNTS = ("Anchor Dental", "Beacon Dental", "Cove Bakery")


class Lists:
    def __init__(self, suite: Any) -> None:
        self.suite, self.tag = suite, uuid.uuid4().hex[:6]
        self.admin_email = new_distributor_admin(suite, "Lists E2E", "lists-e2e.example", PASSWORD)
        admin = signed_in(suite.base_url, self.admin_email, PASSWORD)
        self.partner_email = f"msp-{self.tag}@lists-e2e.example"
        for name in ("Quay", "Harbour"):
            made = admin.post("/api/v1/partners", json={
                "name": f"{name} MSP {self.tag}", "email": self.partner_email if name == "Harbour" else
                f"quay-{self.tag}@lists-e2e.example", "country": "US", "data_center": "us-east-1"})
            assert made.status_code == 201, made.text
            if name == "Harbour":
                self.partner_id = made.json()["id"]
        for name in ACCOUNTS:
            made = admin.post("/api/v1/accounts", json={"name": f"{name} {self.tag}", "partner_id": self.partner_id,
                                                        "email": f"{name.split()[0].lower()}-{self.tag}@c.example"})
            assert made.status_code == 201, made.text
        token = Mailbox(suite.var_dir).new_link(self.partner_email, "/confirm-email", timeout=30).split("token=")[1]
        assert Client(suite.base_url).post("/api/v1/auth/confirm-email",
                                           json={"token": token, "password": PASSWORD}).status_code == 204

    def page_as(self, browser: Any, email: str) -> Any:
        page = browser_context(browser).new_page()
        page.goto(self.suite.base_url + "/sign-in")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(self.suite.base_url + "/")
        return page


@pytest.fixture(scope="module")
def lists(suite: Any) -> Lists:
    return Lists(suite)


def names(page: Any) -> list[str]:
    return [n.rsplit(" ", 1)[0] for n in page.locator("#results tbody tr td:first-child a").all_inner_texts()]


def test_a_header_sorts_both_ways_and_keeps_the_filters(lists, browser):
    page = lists.page_as(browser, lists.admin_email)
    page.goto(f"{lists.suite.base_url}/partners/{lists.partner_id}?search=Dental")
    expect(page.locator("[data-total]")).to_have_text("2 of 3 total accounts")
    assert names(page) == ["Anchor Dental", "Beacon Dental"]
    header = page.get_by_role("columnheader", name=re.compile("^Name"))
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert names(page) == ["Beacon Dental", "Anchor Dental"]
    assert "search=Dental" in page.url and "sort=-name" in page.url
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert names(page) == ["Anchor Dental", "Beacon Dental"]

    page.get_by_role("link", name="Clear filters").first.click()
    expect(page.locator("[data-total]")).to_have_text("3 of 3 total accounts")
    page.get_by_label("Search by name or email").fill("no account is called this")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No account matches these filters.")).to_be_visible()
    page.context.close()


def test_the_dashboard_sorts_partners_and_counts_them(lists, browser):
    page = lists.page_as(browser, lists.admin_email)
    expect(page.locator("[data-total]")).to_have_text("2 of 2 total partners")
    rows = page.locator("tr[data-row=partner] td:first-child a")
    expect(rows).to_have_text([f"Harbour MSP {lists.tag}", f"Quay MSP {lists.tag}"])
    page.get_by_role("columnheader", name=re.compile("^Name")).get_by_role("link").click()
    expect(rows).to_have_text([f"Quay MSP {lists.tag}", f"Harbour MSP {lists.tag}"])
    page.context.close()


def test_billing_columns_and_filter_are_for_those_who_see_money(lists, browser):
    page = lists.page_as(browser, lists.admin_email)
    page.goto(f"{lists.suite.base_url}/partners/{lists.partner_id}")
    expect(page.get_by_role("columnheader", name="Billing status")).to_be_visible()
    expect(page.get_by_role("columnheader", name=re.compile("^Amount"))).to_be_visible()
    page.get_by_label("Billing status").select_option("none")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"billing_status=none"))
    expect(page.locator("[data-total]")).to_have_text("3 of 3 total accounts")  # trials are not billed yet
    page.context.close()

    partner = lists.page_as(browser, lists.partner_email)
    expect(partner.get_by_role("columnheader", name="Billing status")).to_have_count(0)
    expect(partner.get_by_label("Billing status")).to_have_count(0)
    partner.context.close()


def test_a_trial_is_deleted_from_its_row_after_the_dialog_asks(lists, browser):
    page = lists.page_as(browser, lists.partner_email)
    row = page.locator(f"tr[data-account='Cove Bakery {lists.tag}']")
    row.get_by_role("link", name="Delete trial").click()
    dialog = page.get_by_role("dialog", name=f"Delete the trial Cove Bakery {lists.tag}?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row).to_be_visible()

    row.get_by_role("link", name="Delete trial").click()
    dialog.get_by_role("button", name="Delete trial").click()
    expect(page.locator(".notice")).to_have_text(f"Trial account Cove Bakery {lists.tag} deleted.")
    expect(page.locator(f"tr[data-account='Cove Bakery {lists.tag}']")).to_have_count(0)
    page.context.close()


def header(page: Any, name: str) -> Any:
    return page.get_by_role("columnheader", name=re.compile(f"^{name}"))


def test_every_list_sorts_from_its_headers_both_ways(lists, browser):
    admin = signed_in(lists.suite.base_url, lists.admin_email, PASSWORD)
    found = admin.get(f"/api/v1/partners/{lists.partner_id}/accounts", params={"search": "Anchor"}).json()["items"]
    subscribed = admin.post("/api/v1/accounts/subscribe-trials", json={
        "plan": "monthly", "scope": "partner", "partner_id": lists.partner_id, "account_ids": [found[0]["id"]]})
    assert subscribed.status_code == 200, subscribed.text
    made = admin.post("/api/v1/users", json={"email": f"zz-{lists.tag}@lists-e2e.example", "display_name": "Zoe",
                                             "permissions": ["view_dashboard"]})
    assert made.status_code == 201, made.text
    page = lists.page_as(browser, lists.admin_email)

    # Accounts by status (subscribed before trial), then the other way.
    page.goto(f"{lists.suite.base_url}/partners/{lists.partner_id}")
    header(page, "Account status").get_by_role("link").click()
    expect(header(page, "Account status")).to_have_attribute("aria-sort", "ascending")
    assert names(page)[0] == "Anchor Dental"
    header(page, "Account status").get_by_role("link").click()
    expect(header(page, "Account status")).to_have_attribute("aria-sort", "descending")
    assert names(page)[-1] == "Anchor Dental"
    header(page, "Backup status").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=backup_status"))

    # The dashboard by task status.
    page.goto(lists.suite.base_url + "/")
    header(page, "Task status").get_by_role("link").click()
    expect(header(page, "Task status")).to_have_attribute("aria-sort", "ascending")

    # Users: by email (the default), then the other way.
    page.goto(lists.suite.base_url + "/settings/users")
    expect(header(page, "Email")).to_have_attribute("aria-sort", "ascending")
    emails = page.locator("table.grid tbody tr td:first-child")
    expect(emails.last).to_have_text(f"zz-{lists.tag}@lists-e2e.example")
    header(page, "Email").get_by_role("link").click()
    expect(header(page, "Email")).to_have_attribute("aria-sort", "descending")
    expect(emails.first).to_have_text(f"zz-{lists.tag}@lists-e2e.example")

    # The security audit: newest first by default, oldest first from the Date header.
    page.goto(lists.suite.base_url + "/audit")
    expect(header(page, "Date")).to_have_attribute("aria-sort", "descending")
    header(page, "Date").get_by_role("link").click()
    expect(header(page, "Date")).to_have_attribute("aria-sort", "ascending")
    times = page.locator("#results tbody time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert len(times) > 1 and times == sorted(times)

    # Billing status and billing history.
    page.goto(lists.suite.base_url + "/billing")
    header(page, "Amount due").get_by_role("link").click()
    expect(header(page, "Amount due")).to_have_attribute("aria-sort", "ascending")
    header(page, "Billing status").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=status"))
    page.goto(lists.suite.base_url + "/billing/history")
    expect(header(page, "Issued")).to_have_attribute("aria-sort", "descending")
    header(page, "Amount").get_by_role("link").click()
    expect(header(page, "Amount")).to_have_attribute("aria-sort", "ascending")
    page.context.close()
