"""Screenshots of the web console's main pages, for docs/screenshots/ (linked from README.md).

Run it against a running suite with the demo data (``make run`` in another terminal):

    .venv/bin/python scripts/screenshots.py                       # http://localhost:8000
    .venv/bin/python scripts/screenshots.py --base-url http://127.0.0.1:8791 --out /tmp/shots

It drives Debian's Chromium through Playwright, the same way tests/e2e/test_console_pages.py does
(``apt-get install chromium``; no ``playwright install``). It signs in as the demo
distributor's administrator and only reads, except that it opens (does not finish) a
two-factor setup to show its QR code.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DEMO_ADMIN = (os.environ.get("PORTAL_DEMO_ADMIN_EMAIL", "admin@northwind-backup.example"),
              os.environ.get("PORTAL_DEMO_ADMIN_PASSWORD", "northwind-demo-2026"))
TWO_FACTOR_USER = "security@northwind-backup.example"  # a demo user with 2FA on (same password)
VIEWPORT = {"width": 1366, "height": 800}


def shoot(page: Any, out: Path, name: str, full_page: bool = True) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def sign_in_form(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("PORTAL_BASE_URL", "http://localhost:8000"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        context.set_default_timeout(20_000)
        page = context.new_page()

        page.goto(base + "/sign-in")
        shoot(page, args.out, "01-sign-in", full_page=False)
        sign_in_form(page, base, TWO_FACTOR_USER, DEMO_ADMIN[1])
        page.get_by_label("Authentication code").wait_for()
        shoot(page, args.out, "02-sign-in-two-factor", full_page=False)
        page.goto(base + "/access-denied")
        shoot(page, args.out, "03-access-denied", full_page=False)

        sign_in_form(page, base, *DEMO_ADMIN)
        page.wait_for_url(base + "/")
        shoot(page, args.out, "04-dashboard")
        page.get_by_label("Task status").select_option("failures")
        page.wait_for_url(re.compile(r"task_status=failures"))
        page.wait_for_load_state("networkidle")
        shoot(page, args.out, "05-dashboard-filtered")

        page.goto(base + "/")
        page.locator("tr[data-row=partner] a").first.click()
        page.wait_for_url(re.compile(r"/partners/"))
        shoot(page, args.out, "06-partner-accounts")
        page.locator("#results tbody a").first.click()
        page.wait_for_url(re.compile(r"/accounts/"))
        shoot(page, args.out, "07-account")

        page.goto(base + "/partners/new")
        page.get_by_label("Company name").fill("Harbour MSP")
        page.get_by_label("Email").fill("not-an-email")
        page.get_by_role("combobox", name="Country").fill("US")
        page.get_by_role("button", name="Add partner").click()
        page.locator("#e-email").wait_for()
        shoot(page, args.out, "08-add-partner-errors", full_page=False)

        for path, name in (("/billing", "09-billing-status"), ("/billing/history", "10-billing-history"),
                           ("/billing/payment", "11-payment-details"), ("/settings/account", "12-account-settings"),
                           ("/settings/users", "13-users"), ("/audit", "15-security-audit"),
                           ("/notifications", "16-notifications"), ("/integrations/backup-radar", "17-backup-radar"),
                           ("/learning", "18-learning-hub"), ("/support", "19-support")):
            page.goto(base + path)
            shoot(page, args.out, name)

        page.goto(base + "/settings/security")
        setup = page.get_by_role("button", name="Set up two-factor authentication")
        if setup.count():
            setup.click()
            page.locator(".qr svg").wait_for()
        shoot(page, args.out, "14-security")
        sso_pages(browser, base, args.out)
        browser.close()


def sso_pages(browser: Any, base: str, out: Path) -> None:
    """The Microsoft/Google sign-in pages, when the portal has a provider configured: the sign-in
    page with its buttons, and a refusal. The refusal needs the loopback test provider
    (``python -m tests.e2e.oidc_provider PORT`` as IDENTITY_MICROSOFT_ISSUER, README.md): its form
    lets anyone claim a subject; one it was told nothing about comes without `email_verified`,
    so the portal refuses it (`email_not_verified`)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    page.goto(base + "/sign-in")
    button = page.get_by_role("link", name="Sign in with Microsoft")
    if not button.count():
        print("  (no Microsoft sign-in configured: no SSO screenshots)")
        context.close()
        return
    shoot(page, out, "20-sign-in-with-providers", full_page=False)
    button.click()
    subject = page.get_by_placeholder("sub")
    subject.wait_for()
    subject.fill("someone-the-portal-does-not-know")
    page.get_by_role("button", name="Authorize").click()
    page.get_by_role("link", name="Back to sign in").wait_for()
    shoot(page, out, "21-sso-refused", full_page=False)
    context.close()
    sso_code_step(browser, base, out)


def sso_code_step(browser: Any, base: str, out: Path) -> None:
    """The code step after Google: a Google user of the demo distributor (made here, through
    the API) with two-factor authentication on, signing in again."""
    api = requests.Session()
    token = api.post(base + "/api/v1/auth/sign-in", json={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]},
                     timeout=15).json()["token"]
    api.headers["Authorization"] = f"Bearer {token}"
    email = f"google-{uuid.uuid4().hex[:6]}@northwind-backup.example"
    api.post(base + "/api/v1/users", json={"email": email, "credential_type": "google",
                                           "display_name": "Gail Google"}, timeout=15).raise_for_status()
    if "Sign in with Google" not in requests.get(base + "/sign-in", timeout=15).text:
        print("  (no Google sign-in configured: no code-step screenshot)")
        return
    subject = f"google-{uuid.uuid4().hex[:10]}"
    # The loopback test provider standing in for Google (IDENTITY_GOOGLE_ISSUER of the suite).
    provider = os.environ.get("PORTAL_SCREENSHOT_GOOGLE_ISSUER", "http://127.0.0.1:8802")
    requests.put(f"{provider}/users/{subject}", json={"email": email, "email_verified": True},
                 timeout=15).raise_for_status()

    def google_sign_in(page: Any) -> None:
        page.goto(base + "/sign-in")
        page.get_by_role("link", name="Sign in with Google").click()
        page.get_by_placeholder("sub").fill(subject)
        page.get_by_role("button", name="Authorize").click()

    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    google_sign_in(page)
    page.get_by_role("navigation", name="Main").wait_for()
    session = next(c["value"] for c in context.cookies() if c["name"] == "portal_session")
    user = requests.Session()
    user.headers["Authorization"] = f"Bearer {session}"
    secret = user.post(base + "/api/v1/me/two-factor/setup", timeout=15).json()["secret"]
    enabled = user.post(base + "/api/v1/me/two-factor/enable",
                        json={"code": pyotp.TOTP(secret).at(time.time() - 30)}, timeout=15)
    enabled.raise_for_status()
    context.close()
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    google_sign_in(page)
    page.get_by_role("heading", name="One more step").wait_for()
    shoot(page, out, "22-sso-two-factor", full_page=False)
    context.close()


if __name__ == "__main__":
    main()
