"""Settings pages in Chromium: a trusted IP entry is added without a description and edited
in place (a wrong address first); a user's name and sign-in type are edited."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import signed_in_page
from tests.e2e.identity_client import OPERATOR, Client, Mailbox, new_distributor_admin, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a quay of grey granite"


@pytest.fixture(scope="module")
def admin_email(suite: Any) -> str:
    return new_distributor_admin(suite, "Settings E2E", "settings-e2e.example", PASSWORD)


@pytest.fixture(scope="module")
def admin_page(suite: Any, browser: Any, admin_email: str) -> Any:
    page = signed_in_page(browser, suite.base_url, admin_email, PASSWORD)
    yield page
    page.context.close()


def test_an_ip_entry_needs_no_description_and_is_edited_in_place(suite, admin_page):
    page = admin_page
    page.goto(suite.base_url + "/settings/security")
    page.get_by_label("Addresses (comma-separated)").fill("192.0.2.10")
    your_ip = page.locator("[data-your-ip]").inner_text()
    page.get_by_role("button", name="Add", exact=True).click()
    # A first list without the caller's own address leaves restrictions off, and says why.
    expect(page.locator(".notice")).to_have_text(
        f"Trusted address added. IP restrictions stay off: the list does not include your address {your_ip}. "
        "Add it to the list to turn them on.")
    expect(page.locator("[data-ip-enabled]")).to_have_text("off")
    row = page.get_by_role("row").filter(has_text="192.0.2.10")
    expect(row.get_by_role("cell").first).to_have_text("—")

    row.get_by_role("link", name="Edit 192.0.2.10").click()
    form = page.get_by_role("form", name="Edit 192.0.2.10")
    form.get_by_label("Addresses (comma-separated)").fill("192.0.2.300")
    form.get_by_role("button", name="Save").click()
    form = page.get_by_role("form", name="Edit 192.0.2.10")
    expect(form.locator(".error")).to_contain_text("192.0.2.300")
    expect(page.get_by_role("button", name="Add", exact=True)).to_have_count(0)  # one form at a time

    form.get_by_label("Description (optional)").fill("Branch office")
    form.get_by_label("Addresses (comma-separated)").fill("192.0.2.10, 192.0.2.11")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text("Trusted address saved.")
    row = page.get_by_role("row").filter(has_text="Branch office")
    expect(row).to_contain_text("192.0.2.10, 192.0.2.11")


def test_a_users_name_and_sign_in_type_are_edited(suite, admin_page):
    page = admin_page
    email = f"edit-{uuid.uuid4().hex[:8]}@settings-e2e.example"
    page.goto(suite.base_url + "/settings/users")
    page.locator("#f-email").fill(email)
    page.get_by_role("button", name="Invite").click()
    expect(page.locator(".notice")).to_contain_text(email)

    page.get_by_role("row").filter(has_text=email).get_by_role("link", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Gail Google")
    page.get_by_label("Signs in with").select_option(label="Google")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text(f"{email}: saved.")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Gail Google")
    expect(row).to_contain_text("Google")


def test_a_recipient_needs_a_type_and_is_edited_in_place(suite, admin_page):
    page = admin_page
    email = f"ops-{uuid.uuid4().hex[:8]}@settings-e2e.example"
    page.goto(suite.base_url + "/notifications")
    page.locator("#f-email").fill(email)
    page.get_by_role("button", name="Add recipient").click()
    expect(page.locator("#e-types")).to_contain_text("at least one notification type")
    page.get_by_label("Summary report").check()
    page.get_by_role("button", name="Add recipient").click()
    expect(page.locator(".notice")).to_have_text(f"{email} added.")

    page.locator(f"tr[data-recipient='{email}']").get_by_role("link", name="Edit").click()
    form = page.get_by_role("form", name=f"Edit {email}")
    form.get_by_label("Summary report").uncheck()
    form.get_by_role("button", name="Save").click()
    form = page.get_by_role("form", name=f"Edit {email}")
    expect(form.locator(".error")).to_contain_text("at least one notification type")
    form.get_by_label("Display name").fill("Night shift")
    form.get_by_label("Exceptions notification").check()
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text("Recipient saved.")
    row = page.locator(f"tr[data-recipient='{email}']")
    expect(row).to_contain_text("Night shift")
    expect(row).to_contain_text("Exceptions notification")
    expect(row).not_to_contain_text("Summary report")


def test_backup_radar_endpoint_secret_and_test_event_from_the_console(suite, admin_page, admin_email):
    page = admin_page
    distributor_id = signed_in(suite.base_url, admin_email, PASSWORD).get("/api/v1/me").json()["tenant_id"]
    page.goto(suite.base_url + "/integrations/backup-radar")
    expect(page.get_by_text("not switched on (ask Support)")).to_be_visible()
    expect(page.get_by_role("button", name="Save endpoint")).to_have_count(0)
    enabled = signed_in(suite.base_url, *OPERATOR).put("/api/v1/integrations/backup-radar",
                                                       json={"enabled": True, "distributor_id": distributor_id})
    assert enabled.status_code == 200, enabled.text

    page.goto(suite.base_url + "/integrations/backup-radar")
    page.get_by_label("Endpoint URL").fill("http://93.184.215.14/hooks")  # plain http: refused
    page.get_by_role("button", name="Save endpoint").click()
    expect(page.locator("#e-url")).to_contain_text("https")

    page.get_by_role("button", name=re.compile("^(Make a|Rotate) secret$")).click()
    secret = page.locator("[data-new-secret]")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    page.goto(suite.base_url + "/integrations/backup-radar")
    expect(page.locator("[data-new-secret]")).to_have_count(0)  # shown once
    expect(page.get_by_text("A secret is set")).to_be_visible()

    page.get_by_role("button", name="Send test event").click()
    expect(page.locator(".notice")).to_contain_text("not active")  # no endpoint URL yet


def test_an_email_user_is_invited_with_a_password_set_now(suite, admin_page):
    page = admin_page
    email = f"preset-{uuid.uuid4().hex[:8]}@settings-e2e.example"
    page.goto(suite.base_url + "/settings/users")
    page.locator("#f-email").fill(email)
    page.get_by_label("Set it now").check()
    page.get_by_label("Password (when set now)").fill("password1")
    page.get_by_role("button", name="Invite").click()
    expect(page.locator("#e-password")).to_contain_text(re.compile(r"\S"))  # the policy's reason
    expect(page.get_by_label("Set it now")).to_be_checked()
    page.get_by_label("Password (when set now)").fill("a lantern by the ferry slip")
    page.get_by_role("button", name="Invite").click()
    expect(page.locator(".notice")).to_contain_text(f"{email} invited")
    token = Mailbox(suite.var_dir).new_link(email, "/confirm-email").split("token=")[1]
    confirmed = Client(suite.base_url).post("/api/v1/auth/confirm-email", json={"token": token})
    assert confirmed.status_code == 204, confirmed.text  # no password asked: it was set
    assert signed_in(suite.base_url, email, "a lantern by the ferry slip").token


def test_billing_details_use_plain_labels_a_country_by_name_and_an_invoice_choice(suite, admin_page, admin_email):
    page = admin_page
    page.goto(suite.base_url + "/billing/payment")
    for label, value in (("First name", "Dana"), ("Last name", "Reyes"), ("Billing email", "ap@fabrikam.example"),
                         ("Company", "Fabrikam"), ("Company tax ID", "DE-123456789"),
                         ("Address line 1", "1 Hafenstrasse"), ("City", "Hamburg"), ("ZIP or postal code", "20457"),
                         ("Phone", "+49 40 555 0100")):
        page.get_by_role("textbox", name=label, exact=True).fill(value)
    expect(page.locator("#countries-country option[value='DE']")).to_have_text("Germany")
    page.get_by_role("combobox", name="Country").fill("DE")
    page.get_by_label("An attachment (PDF)").check()
    page.get_by_role("button", name="Save billing details").click()
    expect(page.locator(".notice")).to_have_text("Billing details saved.")
    expect(page.get_by_label("An attachment (PDF)")).to_be_checked()
    expect(page.get_by_role("combobox", name="Country")).to_have_value("DE")
    details = signed_in(suite.base_url, admin_email, PASSWORD).get("/api/v1/billing/details").json()["details"]
    assert (details["country"], details["invoice_delivery"]) == ("DE", "attachment")
