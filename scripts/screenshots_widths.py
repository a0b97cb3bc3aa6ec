"""Screenshots of every console page at 1,440 px and at 390 px (a phone), for
docs/screenshots/, with an index (docs/screenshots/index.md, linked from README.md).

Against a running suite with the demo data (``make run``)::

    .venv/bin/python scripts/screenshots_widths.py --base-url http://localhost:8000

The demo distributor's administrator opens every page of its portal (the pages of one
partner, account, bill and user are found by following the first link of their list);
the operator opens Settings ▸ Site content. Only reads, except opening the card form.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DEMO_ADMIN = (os.environ.get("PORTAL_DEMO_ADMIN_EMAIL", "admin@northwind-backup.example"),
              os.environ.get("PORTAL_DEMO_ADMIN_PASSWORD", "northwind-demo-2026"))
OPERATOR = (os.environ.get("PORTAL_OPERATOR_EMAIL", "operator@portal.example"),
            os.environ.get("PORTAL_OPERATOR_PASSWORD", "operator-demo-2026"))
WIDTHS = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}


def first_link(selector: str) -> Callable[[Any], str]:
    """The address of the first link matching ``selector`` on the page just shown."""
    def find(page: Any) -> str:
        href = page.locator(selector).first.get_attribute("href")
        if not href:
            raise SystemExit(f"no link matches {selector!r} on {page.url}")
        return str(href)
    return find


# (file name, title, path or how to find it from the page before, who)
PAGES: list[tuple[str, str, str | Callable[[Any], str], str]] = [
    ("sign-in", "Sign-in", "/sign-in", "nobody"),
    ("forgot-password", "Forgot your password?", "/forgot-password", "nobody"),
    ("dashboard", "Dashboard", "/", "admin"),
    ("partner-accounts", "A partner's accounts", first_link("tr[data-row=partner] td:first-child a"), "admin"),
    ("account", "An account", first_link("#results tbody tr td:first-child a"), "admin"),
    ("direct-accounts", "Direct accounts", "/direct-accounts", "admin"),
    ("add-partner", "Add a partner", "/partners/new", "admin"),
    ("add-account", "Add an account", "/accounts/new", "admin"),
    ("billing-status", "Billing status", "/billing", "admin"),
    ("billing-summary", "An account's billing summary", first_link("a[href^='/billing/accounts/']"), "admin"),
    ("billing-history", "Billing history", "/billing/history", "admin"),
    ("payment-details", "Payment details", "/billing/payment", "admin"),
    ("card-form", "Add a card (the processor's form)", "/billing/payment#add-card", "admin"),
    ("security-audit", "Security audit", "/audit", "admin"),
    ("account-settings", "Account settings", "/settings/account", "admin"),
    ("users", "Users", "/settings/users", "admin"),
    ("user-edit", "Edit a user", first_link("a[href^='/settings/users/']"), "admin"),
    ("security", "Security", "/settings/security", "admin"),
    ("notifications", "Notifications", "/notifications", "admin"),
    ("backup-radar", "Integrations: Backup Radar", "/integrations/backup-radar", "admin"),
    ("learning-hub", "Learning hub", "/learning", "admin"),
    ("partner-zone", "Partner Zone", "/partner-zone", "admin"),
    ("resources", "Resources", "/resources", "admin"),
    ("support", "Support", "/support", "admin"),
    ("site-content", "Site content (operators)", "/settings/site-content", "operator"),
]
FIRST = 60


def sign_in(page: Any, base: str, who: tuple[str, str]) -> None:
    page.context.clear_cookies()
    page.goto(base + "/sign-in")
    page.get_by_label("Email").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").wait_for()


def shoot_width(browser: Any, base: str, out: Path, width: str, viewport: dict[str, int]) -> None:
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    signed_in_as = "nobody"
    for index, (name, _, where, who) in enumerate(PAGES):
        if who != signed_in_as:
            if who != "nobody":
                sign_in(page, base, DEMO_ADMIN if who == "admin" else OPERATOR)
            signed_in_as = who
        path = where(page) if callable(where) else where
        page.goto(base + path.removesuffix("#add-card"))
        page.wait_for_load_state("networkidle")
        if path.endswith("#add-card"):
            page.get_by_role("button", name="Add a card").click()
            frame = page.frame_locator("iframe[title='Card details (payment processor)']")
            frame.get_by_label("Card number").wait_for()
            page.locator("#card-frame").scroll_into_view_if_needed()
        page.screenshot(path=str(out / f"{FIRST + index:02d}-{name}-{width}.png"),
                        full_page=not path.endswith("#add-card"))
    context.close()


def write_index(out: Path) -> None:
    rows = [f"| {title} | [1,440 px]({FIRST + i:02d}-{name}-1440.png) | [390 px]({FIRST + i:02d}-{name}-390.png) |"
            for i, (name, title, _, _) in enumerate(PAGES)]
    # The other tiers' home pages come from scripts/screenshots_journeys.py (it makes their users).
    rows += [f"| {title} | [1,440 px]({name}-1440.png) | [390 px]({name}-390.png) |"
             for name, title in (("34-partner-home", "A partner's home page (its customer accounts)"),
                                 ("35-customer-home", "A customer account's home page (its backups)"))]
    (out / "index.md").write_text(
        "# Every console page at two widths\n\n"
        "Made by `scripts/screenshots_widths.py` against `make run` with the demo data: a desktop\n"
        "(1,440 px) and a phone (390 px). On a phone the menu sits above the page and tables\n"
        "scroll inside their box.\n\n"
        "| page | desktop | phone |\n|---|---|---|\n" + "\n".join(rows) + "\n")


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
        for width, viewport in WIDTHS.items():
            shoot_width(browser, base, args.out, width, viewport)
        browser.close()
    write_index(args.out)


if __name__ == "__main__":
    main()
