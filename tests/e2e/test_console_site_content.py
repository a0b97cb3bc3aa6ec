"""Support, Partner Zone and Resources in Chromium: an operator publishes them from
Settings ▸ Site content (a wrong address is named by section and row), and every tier reads
what was published; a customer account's users get no Partner Zone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import signed_in_page
from tests.e2e.identity_client import OPERATOR, signed_in
from tests.e2e.test_console_accessibility import AXE, violations
from tests.e2e.test_console_tiers import PASSWORD, Tree, menu

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def tree(suite: Any) -> Tree:
    return Tree(suite)


def test_an_operator_publishes_and_every_tier_reads_it(tree, browser):
    base = tree.suite.base_url
    operator = signed_in_page(browser, base, *OPERATOR)
    expect(operator.get_by_role("navigation", name="Main").get_by_role("link", name="Site content")).to_be_visible()
    operator.goto(base + "/settings/site-content")
    operator.get_by_label("Region, row 1").fill("Canada")
    operator.get_by_label("Number, row 1").fill("+1 (555) 010-0142")
    rows = len(tree.partner.get("/api/v1/site-content").json()["partner_zone"])
    operator.get_by_label(f"Partner Zone title, row {rows + 1}").fill("Deal registration")
    operator.get_by_label(f"Partner Zone address, row {rows + 1}").fill("portal.example/deals")
    operator.get_by_role("button", name="Publish").click()
    expect(operator.get_by_role("alert")).to_contain_text(f"Partner Zone, row {rows + 1}, address:")
    operator.get_by_label(f"Partner Zone address, row {rows + 1}").fill("https://portal.example/deals")
    operator.get_by_role("button", name="Publish").click()
    expect(operator.locator(".notice")).to_contain_text("Published: version")
    if AXE.exists():
        assert violations(operator, AXE.read_text()) == []
    operator.goto(base + "/audit")
    expect(operator.get_by_text("Site content changed: support phones, Partner Zone").first).to_be_visible()
    operator.context.close()

    distributor = signed_in_page(browser, base, tree.distributor_email, PASSWORD)
    assert {"Partner Zone", "Resources", "Support"} <= set(menu(distributor))
    distributor.goto(base + "/support")
    expect(distributor.get_by_text("Canada")).to_be_visible()
    expect(distributor.get_by_role("link", name="+1 (555) 010-0142")).to_have_attribute("href", "tel:+1555010-0142")
    distributor.goto(base + "/resources")
    expect(distributor.get_by_role("link", name="Knowledge Base")).to_be_visible()
    distributor.context.close()

    partner = signed_in_page(browser, base, tree.partner_email, PASSWORD)
    partner.get_by_role("navigation", name="Main").get_by_role("link", name="Partner Zone").click()
    expect(partner.get_by_role("link", name="Deal registration")).to_have_attribute(
        "href", "https://portal.example/deals")
    partner.context.close()

    customer = signed_in_page(browser, base, tree.customer_email, PASSWORD)
    assert "Partner Zone" not in menu(customer) and "Resources" in menu(customer)
    customer.goto(base + "/partner-zone")
    expect(customer.get_by_role("heading", name="Access Denied")).to_be_visible()
    customer.context.close()


def test_only_an_operator_publishes_through_the_api(tree):
    refused = tree.partner.put("/api/v1/operator/site-content", json={"support_phones": []})
    bad = signed_in(tree.suite.base_url, *OPERATOR).put("/api/v1/operator/site-content", json={
        "resources": [{"title": "Privacy", "url": "javascript:alert(1)"}]})

    assert refused.status_code == 403
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "resources.0.url"
