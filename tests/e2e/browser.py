"""Chromium for the console's browser tests: Playwright driving Debian's build (no
``playwright install``). Without it these tests skip locally and fail when ``CI=true``.

Only Playwright's driver-side waits are used (``expect``, locator actions): its client-side
waiters (``wait_for_url``, ``expect_download``) never finish under the eventlet
monkey-patching of the root conftest.py. The ``browser`` fixture is registered for every
e2e module by tests/e2e/conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.identity_client import unique_ip

CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # a loaded 2-core machine is slow; failures still end
    manager = sync_playwright()
    playwright = manager.start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
    try:
        yield browser
    finally:
        browser.close()
        # Under eventlet's monkey-patching (root conftest.py) Playwright's stop() waits forever
        # for its driver's exit to be reported; end the driver ourselves instead.
        with contextlib.suppress(Exception):
            manager._connection._transport._proc.kill()  # type: ignore[union-attr]
        # Its dispatcher greenlet stays parked inside ``loop.run_until_complete``, which left
        # this thread marked as running an asyncio loop: every later TestClient (anyio) then
        # failed with "Already running asyncio in this thread". Clear the mark.
        asyncio.events._set_running_loop(None)


def browser_context(browser: Any, ip: str | None = None) -> Any:
    """A fresh browser session speaking for its own client address (``X-Forwarded-For``;
    the suite trusts 127.0.0.1 as a proxy)."""
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": ip or unique_ip("198.18")},
                                  viewport={"width": 1366, "height": 900}, locale="en-US", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def signed_in_page(browser: Any, base_url: str, email: str, password: str) -> Any:
    """A page of a fresh browser session, signed in with a password (no 2FA) on the home page."""
    page = browser_context(browser).new_page()
    page.goto(base_url + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/")
    return page
