"""The journeys behind the links in mail, walked in Chromium from the Maildir to a signed-in
page: an invited user chooses a password; an expired link brings a new one; a forgotten
password is reset and every old session ends. Plus the API's answers that must not tell
who is a user."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import browser_context
from tests.e2e.identity_client import Client, Mailbox, new_distributor_admin, signed_in, unique_ip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ADMIN_PASSWORD = "a lantern on the north pier"
CHOSEN = "gulls circling the old lighthouse"
NEWER = "tides turning under a copper moon"


class Office:
    """A distributor of its own whose administrator invites people."""

    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.mail = Mailbox(suite.var_dir)
        self.admin_email = new_distributor_admin(suite, "Links E2E", "links-e2e.example", ADMIN_PASSWORD)
        self.admin = signed_in(suite.base_url, self.admin_email, ADMIN_PASSWORD)

    def invite(self, name: str) -> str:
        email = f"{name}-{uuid.uuid4().hex[:8]}@links-e2e.example"
        created = self.admin.post("/api/v1/users", json={"email": email, "role": "custom",
                                                         "permissions": ["view_dashboard"]})
        assert created.status_code == 201, created.text
        return email

    def audit_descriptions(self) -> list[str]:
        listed = self.admin.get("/api/v1/audit", params={"page_size": 100})
        assert listed.status_code == 200, listed.text
        return [row["description"] for row in listed.json()["items"]]


@pytest.fixture(scope="module")
def office(suite: Any) -> Office:
    return Office(suite)


@pytest.fixture
def visitor(browser: Any) -> Any:
    context = browser_context(browser)
    yield context.new_page()
    context.close()


def choose_password(page: Any, password: str, again: str | None = None) -> None:
    page.get_by_label("New password").fill(password)
    page.get_by_label("Type it again").fill(again if again is not None else password)


def test_an_invited_user_chooses_a_password_and_lands_signed_in(office, visitor):
    email = office.invite("invited")
    link = office.mail.new_link(email, "/confirm-email")

    visitor.goto(link)
    expect(visitor.get_by_role("heading", name="Choose your password")).to_be_visible()
    expect(visitor.get_by_text(email)).to_be_visible()
    choose_password(visitor, CHOSEN, again="something else entirely")
    visitor.get_by_role("button", name="Set password and sign in").click()
    expect(visitor.locator("#e-confirm_password")).to_contain_text("not the same")

    choose_password(visitor, "password1")
    visitor.get_by_role("button", name="Set password and sign in").click()
    expect(visitor.locator("#e-password")).to_contain_text(re.compile(r"\S"))
    expect(visitor.get_by_label("New password")).to_have_attribute("aria-invalid", "true")

    choose_password(visitor, CHOSEN)
    visitor.get_by_role("button", name="Set password and sign in").click()
    expect(visitor).to_have_url(office.suite.base_url + "/")
    expect(visitor.locator("header .who")).to_contain_text(email)

    visitor.goto(link)  # the link has done its work
    expect(visitor.get_by_role("heading", name="This link was already used")).to_be_visible()
    assert signed_in(office.suite.base_url, email, CHOSEN).token


def test_an_expired_link_brings_a_new_one_that_works(office, visitor):
    email = office.invite("late")
    first = office.mail.new_link(email, "/confirm-email")
    user_id = next(u["id"] for u in office.admin.get("/api/v1/users", params={"page_size": 200}).json()["items"]
                   if u["email"] == email)
    # The administrator sent the mail again: the first link has expired.
    assert office.admin.post(f"/api/v1/users/{user_id}/resend-confirmation").status_code in (200, 202, 204)
    second = office.mail.new_link(email, "/confirm-email", known={first})

    visitor.goto(first)
    expect(visitor.get_by_role("heading", name="This link has expired")).to_be_visible()
    visitor.get_by_role("button", name="Resend confirmation").click()
    expect(visitor.get_by_role("heading", name="Check your mail")).to_be_visible()
    third = office.mail.new_link(email, "/confirm-email", known={first, second})

    visitor.goto(second)  # only the newest link works
    expect(visitor.get_by_role("heading", name="This link has expired")).to_be_visible()
    visitor.goto(third)
    choose_password(visitor, CHOSEN)
    visitor.get_by_role("button", name="Set password and sign in").click()
    expect(visitor).to_have_url(office.suite.base_url + "/")
    expect(visitor.locator("header .who")).to_contain_text(email)


def test_an_unknown_link_asks_for_the_address_and_says_the_same_for_anyone(office, visitor):
    visitor.goto(office.suite.base_url + "/confirm-email?token=" + "x" * 43)
    expect(visitor.get_by_role("heading", name="This link is not valid")).to_be_visible()
    visitor.get_by_label("Email").fill(f"nobody-{uuid.uuid4().hex[:6]}@links-e2e.example")
    visitor.get_by_role("button", name="Resend confirmation").click()
    expect(visitor.get_by_role("heading", name="Check your mail")).to_be_visible()


def test_forgot_password_resets_it_and_ends_every_old_session(office, browser, visitor):
    email = office.invite("forgetful")
    token = office.mail.new_link(email, "/confirm-email").split("token=")[1]
    assert Client(office.suite.base_url).post("/api/v1/auth/confirm-email",
                                              json={"token": token, "password": CHOSEN}).status_code == 204
    api_session = signed_in(office.suite.base_url, email, CHOSEN)
    old_browser = browser_context(browser)
    old_page = old_browser.new_page()
    old_page.goto(office.suite.base_url + "/sign-in")
    old_page.get_by_label("Email").fill(email)
    old_page.get_by_label("Password").fill(CHOSEN)
    old_page.get_by_role("button", name="Sign in").click()
    expect(old_page).to_have_url(office.suite.base_url + "/")

    visitor.goto(office.suite.base_url + "/sign-in")
    visitor.get_by_role("link", name="Forgot your password?").click()
    visitor.get_by_label("Email").fill(email)
    visitor.get_by_role("button", name="Send reset link").click()
    expect(visitor.get_by_role("heading", name="Check your mail")).to_be_visible()
    link = office.mail.new_link(email, "/reset-password")

    visitor.goto(link)
    expect(visitor.get_by_role("heading", name="Choose a new password")).to_be_visible()
    choose_password(visitor, NEWER)
    visitor.get_by_role("button", name="Set new password").click()
    expect(visitor).to_have_url(office.suite.base_url + "/sign-in?done=password-reset")
    expect(visitor.get_by_role("status")).to_contain_text("every session was ended")

    assert api_session.get("/api/v1/me").status_code == 401
    old_page.goto(office.suite.base_url + "/")
    expect(old_page).to_have_url(re.compile(r"/sign-in"))
    old_browser.close()
    assert Client(office.suite.base_url).sign_in(email, CHOSEN).status_code == 401
    visitor.get_by_label("Email").fill(email)
    visitor.get_by_label("Password").fill(NEWER)
    visitor.get_by_role("button", name="Sign in").click()
    expect(visitor).to_have_url(office.suite.base_url + "/")

    visitor.goto(link)  # single use
    expect(visitor.get_by_role("heading", name="This link was already used")).to_be_visible()
    office.mail.wait_for_text(email, "Password changed")
    assert any(d.startswith("Password reset with an emailed link") for d in office.audit_descriptions())


def test_a_reset_request_answers_the_same_for_anyone(office):
    stranger = Client(office.suite.base_url, ip=unique_ip())
    known = stranger.post("/api/v1/auth/password-reset", json={"email": office.admin_email})
    unknown = stranger.post("/api/v1/auth/password-reset", json={"email": "no-one@links-e2e.example"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    bad = stranger.post("/api/v1/auth/password-reset", json={"email": ""})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"].endswith("email")


def test_reset_requests_are_throttled_per_email(office):
    email = f"flood-{uuid.uuid4().hex[:6]}@links-e2e.example"
    answers = [Client(office.suite.base_url, ip=unique_ip()).post("/api/v1/auth/password-reset",
                                                                  json={"email": email}) for _ in range(6)]
    assert [a.status_code for a in answers[:4]] == [202] * 4
    assert answers[-1].status_code == 429 and int(answers[-1].headers["Retry-After"]) >= 1
