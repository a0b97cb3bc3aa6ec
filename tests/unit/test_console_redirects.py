"""Where the console sends the browser: one path of this site, whatever ``next`` says.

The gateway runs in process with a fake RPC client (tests/e2e/test_console_redirects.py
does the same through real HTTP against the suite).
"""

from __future__ import annotations

import uuid
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient

from gateway.auth import SESSION_COOKIE
from gateway.web.render import LOGIN_CSRF_COOKIE, same_site_path
from tests.support.fake_rpc import FakeRpcClient
from tests.unit.test_console_session import TOKEN, browser, principal

# What a browser would take to another site, or what breaks the response's header.
ELSEWHERE = [
    "/%09/evil.example.com", "/\t/evil.example.com", "/\n/evil.example.com", "/\r/evil.example.com",
    "/\v/evil.example.com", "/\f/evil.example.com", "/\x00/evil.example.com", "/%0d%0aSet-Cookie:%20a=b",
    "/%0A/evil.example.com", "//evil.example.com", "///evil.example.com", "/\\evil.example.com",
    "\\\\evil.example.com", "/%5Cevil.example.com", "/%5c%5cevil.example.com", "https://evil.example.com",
    "HTTPS:evil.example.com", "javascript:alert(1)", "evil.example.com", "%2F%2Fevil.example.com",
    "/%2F/evil.example.com", "/%2f%2fevil.example.com", "/%252F%252Fevil.example.com", "/ /evil.example.com",
    "/%20/evil.example.com", "/%E2%80%A8/evil.example.com", "/\u2028/evil.example.com", "/\u00e9vil",
    "/%C2%85/evil.example.com", "/./evil.example.com", "/audit/..//evil.example.com", "/%2e%2e/%2fevil",
]
SAME_SITE = ["/audit", "/audit?status=failed&page=2", f"/partners/{uuid.uuid4()}?notice=Account+Dune+added.",
             "/settings/security?notice=Not+done%3A+the+address+is+not+valid", "/billing/history#invoices"]


def sign_in_reply() -> dict:
    return {"token": TOKEN, "expires_at": "2026-12-01T00:00:00Z", "user": principal()["user"],
            "password_expired": False}


def sign_in(http: TestClient, next_value: str, htmx: bool) -> tuple[str, str | None]:
    """Sign in with ``next``; where the browser is sent, and the session cookie it got."""
    form_token = http.get("/sign-in").cookies[LOGIN_CSRF_COOKIE]
    response = http.post("/sign-in", data={"email": "a@example.com", "password": "x" * 12,
                                           "login_csrf": form_token, "next": next_value},
                         headers={"HX-Request": "true"} if htmx else {})
    if htmx:
        assert response.status_code == 200, response.text
        target = response.headers["hx-redirect"]
    else:
        assert response.status_code == 303, response.text
        target = response.headers["location"]
    cookie = next((v for k, v in response.headers.multi_items()
                   if k == "set-cookie" and v.startswith(f"{SESSION_COOKIE}=")), None)
    return target, cookie


@pytest.mark.parametrize("htmx", [False, True], ids=["303", "hx-redirect"])
@pytest.mark.parametrize("next_value", ELSEWHERE)
def test_a_next_that_leaves_the_site_or_breaks_the_header_goes_to_the_dashboard(next_value, htmx):
    http = browser(FakeRpcClient({("identity", "sign_in"): sign_in_reply()}), signed_in=False)

    target, cookie = sign_in(http, next_value, htmx)

    assert target == "/"
    assert cookie is not None and TOKEN in cookie  # the session made is the session handed over


@pytest.mark.parametrize("htmx", [False, True], ids=["303", "hx-redirect"])
@pytest.mark.parametrize("next_value", SAME_SITE)
def test_a_next_on_this_site_is_followed_as_it_is(next_value, htmx):
    http = browser(FakeRpcClient({("identity", "sign_in"): sign_in_reply()}), signed_in=False)

    assert sign_in(http, next_value, htmx)[0] == next_value


@pytest.mark.parametrize("next_value", ["/%09/evil.example.com", "//evil.example.com", "/%5Cevil.example.com"])
def test_the_sign_in_form_carries_only_a_same_site_next(next_value):
    page = browser(FakeRpcClient(), signed_in=False).get("/sign-in", params={"next": next_value})

    assert 'name="next" value="/"' in page.text


@pytest.mark.parametrize("notice", ["Account Müller & Söhne added.", "Not done: 'name' is too long (100%).",
                                    "Trusted address 2001:db8::/32 added."])
def test_the_consoles_own_targets_pass_the_same_check_unchanged(notice):
    for target in (f"/settings/security?{urlencode({'notice': notice})}",
                   f"/sign-in?next={quote('/audit?status=failed&q=' + notice, safe='')}"):
        assert same_site_path(target) == target
    assert same_site_path(None) == same_site_path("") == "/"
