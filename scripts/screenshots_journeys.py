"""Screenshots of the console's journeys for docs/screenshots/: the pages behind the links
in mail, and the home pages of a partner and of a customer account.

Against a running suite with the demo data (``make run``); it makes a partner and a
customer account of its own (through the API) and reads their invitations from the
Maildir (``PORTAL_VAR_DIR``/mail, ``var/mail`` by default)::

    .venv/bin/python scripts/screenshots_journeys.py --base-url http://127.0.0.1:8791 \\
        --var-dir /tmp/walkvar --out /tmp/shots
"""

from __future__ import annotations

import argparse
import mailbox
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DEMO_ADMIN = ("admin@northwind-backup.example", "northwind-demo-2026")
PASSWORD = "a harbour light in the fog"  # noqa: S105 (the demo users this script makes)
VIEWPORT = {"width": 1366, "height": 900}


def link_in_mail(var_dir: Path, address: str, page: str, timeout: float = 30) -> str:
    pattern = re.compile(r"https?://\S+" + re.escape(page) + r"\?token=[A-Za-z0-9_\-]+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mailbox.Maildir(var_dir / "mail", create=False):
            if address in str(message["To"]):
                for part in message.walk():
                    if part.get_content_type() == "text/plain":
                        found = pattern.search(part.get_payload(decode=True).decode())
                        if found:
                            return found.group(0)
        time.sleep(0.3)
    raise SystemExit(f"no mail to {address} linking to {page}")


class Api:
    def __init__(self, base: str, email: str, password: str) -> None:
        self.base = base
        reply = requests.post(f"{base}/api/v1/auth/sign-in", json={"email": email, "password": password}, timeout=10)
        reply.raise_for_status()
        self.headers = {"Authorization": f"Bearer {reply.json()['token']}"}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = requests.post(f"{self.base}/api/v1{path}", json=body, headers=self.headers, timeout=10)
        reply.raise_for_status()
        return dict(reply.json())


def confirm(base: str, var_dir: Path, email: str) -> None:
    token = link_in_mail(var_dir, email, "/confirm-email").split("token=")[1]
    requests.post(f"{base}/api/v1/auth/confirm-email", json={"token": token, "password": PASSWORD},
                  timeout=10).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("PORTAL_BASE_URL", "http://localhost:8000"))
    parser.add_argument("--var-dir", type=Path, default=Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var")))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    base, tag = args.base_url.rstrip("/"), uuid.uuid4().hex[:6]
    args.out.mkdir(parents=True, exist_ok=True)

    distributor = Api(base, *DEMO_ADMIN)
    partner_email = f"msp-{tag}@harbour-it.example"
    partner = distributor.post("/partners", {"name": "Harbour IT Services", "email": partner_email,
                                             "country": "US", "data_center": "us-east-1"})
    confirm(base, args.var_dir, partner_email)
    partner_api = Api(base, partner_email, PASSWORD)
    customer_email = f"it-{tag}@lighthouse-dental.example"
    for name, email in (("Lighthouse Dental", customer_email), ("Quay Street Clinic", f"quay-{tag}@clinic.example")):
        partner_api.post("/accounts", {"name": name, "email": email, "partner_id": partner["id"]})
    confirm(base, args.var_dir, customer_email)
    invited = f"new-{tag}@northwind-backup.example"
    distributor.post("/users", {"email": invited, "role": "custom", "permissions": ["view_dashboard"]})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])

        def fresh_page() -> Any:
            context = browser.new_context(viewport=VIEWPORT, locale="en-US")
            context.set_default_timeout(20_000)
            return context.new_page()

        def shoot(page: Any, name: str) -> None:
            page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)

        page = fresh_page()
        page.goto(link_in_mail(args.var_dir, invited, "/confirm-email"))
        shoot(page, "30-confirm-email-choose-password")
        page.goto(base + "/confirm-email?token=" + "x" * 43)
        shoot(page, "31-confirm-email-invalid-link")
        page.goto(base + "/forgot-password")
        shoot(page, "32-forgot-password")
        page.get_by_label("Email").fill(partner_email)
        page.get_by_role("button", name="Send reset link").click()
        page.get_by_role("heading", name="Check your mail").wait_for()
        page.goto(link_in_mail(args.var_dir, partner_email, "/reset-password"))
        shoot(page, "33-reset-password")

        for email, name in ((partner_email, "34-partner-home"), (customer_email, "35-customer-home")):
            page = fresh_page()
            page.goto(base + "/sign-in")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Main").wait_for()
            if name == "35-customer-home":
                page.get_by_label("Task name").fill("Front desk mailboxes")
                page.get_by_role("button", name="Add backup task").click()
                page.locator("tr[data-task='Front desk mailboxes']").wait_for()
            shoot(page, name)
            # The same home page at the two widths of scripts/screenshots_widths.py.
            for width, viewport in (("1440", {"width": 1440, "height": 900}), ("390", {"width": 390, "height": 844})):
                page.set_viewport_size(viewport)
                page.reload()
                page.get_by_role("navigation", name="Main").wait_for()
                shoot(page, f"{name}-{width}")
        browser.close()


if __name__ == "__main__":
    main()
