"""Accessibility of every console page: axe-core (the npm package, tests/e2e/axe, installed by
`make install`) injected by Playwright into each page, as a distributor administrator and on
the public pages; no serious or critical violation may remain. Plus the main flow by keyboard
only. Without axe-core these tests skip locally and fail when ``CI=true``."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import browser_context
from tests.e2e.identity_client import new_distributor_admin, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "a tidal chart on the wall"
PUBLIC = ["/sign-in", "/forgot-password", "/reset-password?token=" + "x" * 43, "/confirm-email?token=" + "x" * 43,
          "/access-denied"]
SIGNED_IN = ["/", "/partners/new", "/accounts/new", "/direct-accounts", "/billing", "/billing/history",
             "/billing/payment", "/audit", "/settings/account", "/settings/users", "/settings/security",
             "/notifications", "/integrations/backup-radar", "/learning", "/partner-zone", "/resources", "/support"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"axe-core is not installed at {AXE} (make install runs npm ci there)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


@pytest.fixture(scope="module")
def distributor(suite: Any) -> dict[str, str]:
    email = new_distributor_admin(suite, "A11y E2E", "a11y-e2e.example", PASSWORD)
    admin = signed_in(suite.base_url, email, PASSWORD)
    partner = admin.post("/api/v1/partners", json={"name": "Harbour MSP", "country": "US", "data_center": "us-east-1",
                                                   "email": f"msp-{uuid.uuid4().hex[:6]}@a11y-e2e.example"})
    assert partner.status_code == 201, partner.text
    account = admin.post("/api/v1/accounts", json={"name": "Lighthouse Dental", "partner_id": partner.json()["id"],
                                                   "email": f"it-{uuid.uuid4().hex[:6]}@a11y-e2e.example"})
    assert account.status_code == 201, account.text
    me = admin.get("/api/v1/me").json()
    return {"email": email, "partner": partner.json()["id"], "account": account.json()["id"],
            "user": me["id"]}


def every_signed_in_page(distributor: dict[str, str]) -> list[str]:
    return [*SIGNED_IN, f"/partners/{distributor['partner']}", f"/accounts/{distributor['account']}",
            f"/billing/accounts/{distributor['account']}", f"/settings/users/{distributor['user']}"]


def violations(page: Any, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
            .map(v => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
    }""")
    return list(found)


def developer_words(page: Any) -> list[str]:
    """Labels, headers, legends, buttons, options and terms that read like code (``snake_case``,
    ``line1``): every one a person reads should be plain words."""
    texts = page.evaluate("""() => Array.from(document.querySelectorAll(
        "label, th, legend, button, option, dt, h1, h2, h3, nav a"), e => e.innerText.trim())""")
    # An email address a user typed (a heading "Edit it-4f5a@…") is data, not a label's wording.
    words = [re.sub(r"\S+@\S+", "", text) for text in texts]
    return [text for text in words if re.search(r"[a-z]_[a-z]|[a-z]\d\b|\bid\b|\bnull\b", text)]


def sign_in(page: Any, base_url: str, email: str) -> None:
    page.goto(base_url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/")


def test_no_page_has_a_serious_or_critical_accessibility_violation(suite, browser, axe_source, distributor):
    context = browser_context(browser)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    for path in PUBLIC:
        page.goto(suite.base_url + path)
        found[path] = violations(page, axe_source)
    sign_in(page, suite.base_url, distributor["email"])
    titles, wording = {}, {}
    for path in every_signed_in_page(distributor):
        page.goto(suite.base_url + path)
        found[path] = violations(page, axe_source)
        titles[path], wording[path] = page.title(), developer_words(page)
    context.close()
    assert {path: problems for path, problems in found.items() if problems} == {}
    # A title is plain words ending in the product's name (no markup leaked into it).
    assert {path: title for path, title in titles.items()
            if "<" in title or not title.endswith(" · Backup Portal")} == {}
    assert {path: words for path, words in wording.items() if words} == {}


def test_the_main_flow_works_by_keyboard_only(suite, browser, distributor):
    context = browser_context(browser)
    page = context.new_page()
    page.goto(suite.base_url + "/sign-in")
    page.get_by_label("Email").focus()
    page.keyboard.type(distributor["email"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(suite.base_url + "/")

    page.get_by_label("Search by name or email").focus()
    page.keyboard.type("Harbour")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"search=Harbour"))
    link = page.get_by_role("link", name="Harbour MSP")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Harbour MSP")).to_be_visible()
    page.get_by_role("link", name="Add account").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Account (company) name").focus()
    page.keyboard.type("Keyboard Clinic")
    page.keyboard.press("Tab")
    page.keyboard.type(f"kb-{uuid.uuid4().hex[:6]}@a11y-e2e.example")
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_contain_text("Keyboard Clinic")
    context.close()


@pytest.mark.parametrize("path", ["/", "partner", "/partners/new", "/billing/payment"])
def test_a_phone_screen_scrolls_tables_inside_their_box_and_keeps_the_header_on_one_line(
        suite, browser, distributor, path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US",
                                  extra_http_headers={"X-Forwarded-For": "198.18.77.1"})
    page = context.new_page()
    sign_in(page, suite.base_url, distributor["email"])
    page.goto(suite.base_url + (f"/partners/{distributor['partner']}" if path == "partner" else path))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    header = page.locator("header.top")
    assert header.evaluate("h => h.getBoundingClientRect().height") < 60  # one line
    for table in page.locator("table.grid").all():
        assert table.evaluate("t => getComputedStyle(t).overflowX") == "auto"
    context.close()


@pytest.mark.parametrize("width", [390, 1920])
def test_no_page_scrolls_sideways_from_a_phone_to_a_wide_screen(suite, browser, distributor, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US",
                                  extra_http_headers={"X-Forwarded-For": f"198.18.77.{width % 250}"})
    page = context.new_page()
    wide, tall_header = {}, {}

    def look(path: str) -> None:
        page.goto(suite.base_url + path)
        scrolled = page.evaluate("document.documentElement.scrollWidth")
        if scrolled > width:
            wide[path] = scrolled
        header = page.locator("header.top")
        if header.count() and header.evaluate("h => h.getBoundingClientRect().height") >= 60:
            tall_header[path] = header.evaluate("h => h.getBoundingClientRect().height")

    for path in PUBLIC:
        look(path)
    sign_in(page, suite.base_url, distributor["email"])
    for path in every_signed_in_page(distributor):
        look(path)
    context.close()
    assert (wide, tall_header) == ({}, {})
