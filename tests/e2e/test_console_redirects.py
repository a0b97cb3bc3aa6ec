"""Signing in through the console with a hostile ``next``, over real HTTP against the suite.

Before this was guarded, ``next=/%09/evil.example.com`` came back as ``HX-Redirect:
/<tab>/evil.example.com`` (which a browser follows to another site), and a newline,
carriage return or vertical tab in ``next`` dropped the connection after the session had
been made. Now every such ``next`` sends the browser to the dashboard with its session.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.identity_client import OPERATOR, unique_ip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HOSTILE_NEXT = ["/\n/evil.example.com", "/\r/evil.example.com", "/\v/evil.example.com", "/%09/evil.example.com",
                "/\t/evil.example.com", "//evil.example.com", "/\\evil.example.com", "https://evil.example.com",
                "%2F%2Fevil.example.com"]


def console_sign_in(base_url: str, next_value: str, htmx: bool) -> tuple[requests.Session, requests.Response]:
    http = requests.Session()
    http.headers.update({"X-Forwarded-For": unique_ip("198.18"), "User-Agent": "e2e-tests"})
    assert http.get(f"{base_url}/sign-in", timeout=15).status_code == 200  # the form's login_csrf cookie
    email, password = OPERATOR
    response = http.post(f"{base_url}/sign-in", allow_redirects=False, timeout=15,
                         data={"email": email, "password": password, "next": next_value,
                               "login_csrf": http.cookies["portal_login_csrf"]},
                         headers={"HX-Request": "true"} if htmx else {})
    return http, response


@pytest.mark.parametrize("htmx", [False, True], ids=["303", "hx-redirect"])
def test_a_hostile_next_signs_in_to_the_dashboard_and_never_drops_the_connection(suite: Any, htmx: bool):
    for next_value in HOSTILE_NEXT:
        try:
            http, response = console_sign_in(suite.base_url, next_value, htmx)
        except requests.ConnectionError as error:
            pytest.fail(f"next={next_value!r}: the connection dropped ({error})")
        target = response.headers.get("HX-Redirect") if htmx else response.headers.get("Location")
        assert (response.status_code, target) == ((200 if htmx else 303), "/"), next_value
        # The session that was made is the one the browser got, and it works.
        assert "portal_session" in http.cookies, next_value
        dashboard = http.get(f"{suite.base_url}/", allow_redirects=False, timeout=15)
        assert dashboard.status_code == 200 and "<h1>" in dashboard.text, next_value


def test_the_sign_in_form_carries_a_hostile_next_as_the_dashboard(suite: Any):
    for next_value in HOSTILE_NEXT:
        form = requests.get(f"{suite.base_url}/sign-in", params={"next": next_value}, timeout=15,
                            headers={"X-Forwarded-For": unique_ip("198.18")})
        assert form.status_code == 200 and 'name="next" value="/"' in form.text, next_value
