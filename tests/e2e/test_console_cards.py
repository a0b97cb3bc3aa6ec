"""Add a card in Chromium through the test processor's hosted form, on its own origin and port.

The card number is typed into the processor's frame; the console receives a token and
only the token reaches the gateway and billing. Afterwards every log of the suite, every
service database and the processor's own store are read: the number is in none of them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import signed_in_page
from tests.e2e.database_scan import database_text
from tests.e2e.identity_client import new_distributor_admin

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a ledger of blue slate"
SERVICES = ("identity", "tenancy", "billing", "audit", "notify")
CARD_NUMBER = "5555555555554444"  # the Mastercard test number
TYPED = "5555 5555 5555 4444"


@pytest.fixture(scope="module")
def admin_page(suite: Any, browser: Any) -> Any:
    email = new_distributor_admin(suite, "Cards E2E", "cards-e2e.example", PASSWORD)
    page = signed_in_page(browser, suite.base_url, email, PASSWORD)
    yield page
    page.context.close()


def open_card_form(page: Any) -> Any:
    page.get_by_role("button", name="Add a card").click()
    return page.frame_locator("iframe[title='Card details (payment processor)']")


def test_a_card_is_typed_on_the_processors_origin_and_only_its_token_reaches_the_portal(suite, admin_page):
    page = admin_page
    page.goto(suite.base_url + "/billing/payment")
    expect(page.get_by_role("cell", name=re.compile("No saved cards yet"))).to_be_visible()
    form = open_card_form(page)

    # A wrong number and an expired test card are refused inside the processor's form.
    form.get_by_label("Card number").fill("5555 5555 5555 4445")
    form.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    form.get_by_label("Security code").fill("123")
    form.get_by_label("Name on card").fill("Dana Lee")
    form.get_by_role("button", name="Save card").click()
    expect(form.locator("#number-error")).to_have_text("Enter a valid card number.")
    form.get_by_label("Card number").fill("4000 0000 0000 0069")
    form.get_by_label("Security code").fill("123")
    form.get_by_role("button", name="Save card").click()
    expect(form.locator("#number-error")).to_have_text("Your card has expired.")

    # The frame is the processor's: another origin (its own port), not the gateway's.
    frame_url = next(frame.url for frame in page.frames if "/card-form" in frame.url)
    assert urlsplit(frame_url).netloc != urlsplit(suite.base_url).netloc
    assert urlsplit(frame_url).port == int(suite.env["PROCESSOR_PORT"])

    form.get_by_label("Card number").fill(TYPED)
    form.get_by_label("Security code").fill("123")
    form.get_by_role("button", name="Save card").click()
    expect(page.locator(".notice")).to_have_text("Card saved: Mastercard ending 4444.")
    row = page.get_by_role("row").filter(has_text="•••• 4444")
    expect(row).to_contain_text("Mastercard")
    expect(row).to_contain_text("Active")  # the first card is the active one

    # A second card: made active on request, and the first one is not any more.
    page.get_by_label("Make the new card the active card").check()
    form = open_card_form(page)
    form.get_by_label("Card number").fill("4242 4242 4242 4242")
    form.get_by_label("Expiry (MM / YY)").fill("09/31")
    form.get_by_label("Security code").fill("4321")
    form.get_by_label("Name on card").fill("Dana Lee")
    form.get_by_role("button", name="Save card").click()
    expect(page.locator(".notice")).to_have_text("Card saved: Visa ending 4242.")
    expect(page.get_by_role("row").filter(has_text="•••• 4242")).to_contain_text("Active")
    expect(page.get_by_role("row").filter(has_text="•••• 4444")).not_to_contain_text("Active")

    # Now read everything the suite wrote: the numbers typed are nowhere in it.
    billing = database_text(suite.env["BILLING_DATABASE_URL"])
    assert re.search(r"tok_[0-9a-f]{24}", billing), "billing keeps the processor's token"
    places = {f"{service} database": database_text(suite.env[f"{service.upper()}_DATABASE_URL"])
              for service in SERVICES}
    places.update({f"{name} log": path.read_text(errors="replace") for name, path in suite.log_paths.items()})
    places["processor store"] = (suite.var_dir / "billing-processor.db").read_bytes().decode("latin-1")
    assert "/billing/cards/add" in places["gateway log"], "the scan reads the log that saw the card added"
    found = [f"{variant!r} in {place}" for place, text in places.items()
             for variant in (CARD_NUMBER, TYPED, "4242424242424242", "4242 4242 4242 4242") if variant in text]
    assert found == []
