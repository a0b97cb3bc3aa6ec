"""Screenshots of the console's main pages at 1,440 px and at 390 px (a phone), for
docs/screenshots/ (linked from README.md and docs/console.md).

Against a running suite with the demo data (``make run``)::

    .venv/bin/python scripts/screenshots_widths.py --base-url http://127.0.0.1:8792 --out /tmp/shots
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DEMO_ADMIN = ("admin@northwind-backup.example", "northwind-demo-2026")
WIDTHS = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}
PAGES = [("sign-in", "/sign-in"), ("dashboard", "/"), ("billing-status", "/billing"),
         ("payment-details", "/billing/payment"), ("security-audit", "/audit"), ("users", "/settings/users"),
         ("security", "/settings/security"), ("notifications", "/notifications"), ("learning-hub", "/learning")]


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
            context = browser.new_context(viewport=viewport, locale="en-US")
            context.set_default_timeout(20_000)
            page = context.new_page()
            for index, (name, path) in enumerate(PAGES):
                if name == "dashboard":  # the pages after the sign-in page are the administrator's
                    page.goto(base + "/sign-in")
                    page.get_by_label("Email").fill(DEMO_ADMIN[0])
                    page.get_by_label("Password").fill(DEMO_ADMIN[1])
                    page.get_by_role("button", name="Sign in").click()
                    page.get_by_role("navigation", name="Main").wait_for()
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(args.out / f"{60 + index:02d}-{name}-{width}.png"))
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
