"""The console's Microsoft and Google sign-in: the start (to the provider), the callback page
(the redirect URI the provider sends the browser back to), the code step of a user with 2FA,
and the refusal page. Everything goes through the public API (``/api/v1/auth/sso/...``);
this module owns only the browser's side: its cookies and its pages.

Two short-lived HttpOnly cookies: ``portal_sso`` binds the callback to the browser that
started the sign-in (a callback carried to another browser is refused: login CSRF), and
``portal_sso_ticket`` carries the 2FA ticket to the code form (never in a URL).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.auth import SESSION_COOKIE
from gateway.web.client import ApiClient, ApiError
from gateway.web.render import cookie_secure, read_form, redirect, render, same_site_path

router = APIRouter(include_in_schema=False)
PROVIDERS = {"microsoft": "Microsoft", "google": "Google"}
BROWSER_COOKIE = "portal_sso"
TICKET_COOKIE = "portal_sso_ticket"
CODE_PATH = "/sign-in/sso-code"


async def configured_providers(request: Request) -> list[str]:
    """The providers to offer a button for (none when identity cannot say right now)."""
    try:
        reply = await ApiClient(request, None).get("/auth/sso/providers")
    except ApiError:
        return []
    return [p for p in reply.get("providers", []) if p in PROVIDERS]


def refused_page(request: Request, provider: str | None, message: str, status: int,
                 reason: str | None = None) -> Response:
    response = render(request, "sso_refused.html", {
        "provider_name": PROVIDERS.get(provider or "", "Single sign-on"), "message": message, "reason": reason,
    }, status=status)
    response.delete_cookie(BROWSER_COOKIE, path="/sign-in")
    response.delete_cookie(TICKET_COOKIE, path=CODE_PATH)
    return response


def _api_refusal(request: Request, provider: str | None, error: ApiError) -> Response:
    if error.code == "access_denied":
        return render(request, "access_denied.html", {"your_ip": request.state.caller.ip}, status=403)
    if error.status >= 500:
        return refused_page(request, provider, "Sign-in is not available right now; try again in a moment.",
                            error.status)
    return refused_page(request, provider, error.message, error.status, error.details.get("reason"))


def _signed_in(request: Request, reply: dict[str, Any]) -> Response:
    response = redirect(request, same_site_path(reply.get("next")))
    response.set_cookie(SESSION_COOKIE, reply["session"]["token"], httponly=True, samesite="lax",
                        secure=cookie_secure(request), path="/")
    response.delete_cookie(BROWSER_COOKIE, path="/sign-in")
    response.delete_cookie(TICKET_COOKIE, path=CODE_PATH)
    return response


def _code_page(request: Request, provider: str, *, error: str | None = None, status: int = 200) -> Response:
    return render(request, "sso_code.html", {"provider": provider, "provider_name": PROVIDERS.get(provider, ""),
                                             "error": error}, status=status)


async def sso_start(request: Request, provider: str) -> Response:
    target = same_site_path(request.query_params.get("next"))
    try:
        started = await ApiClient(request, None).post(f"/auth/sso/{provider}", {"next": target})
    except ApiError as error:
        return _api_refusal(request, provider, error)
    response = RedirectResponse(started["authorization_url"], status_code=303)
    response.set_cookie(BROWSER_COOKIE, started["browser_key"], httponly=True, samesite="lax",
                        secure=cookie_secure(request), path="/sign-in", max_age=600)
    return response


async def sso_callback(request: Request, provider: str) -> Response:
    q = request.query_params
    if not q.get("state"):
        return refused_page(request, provider, "This sign-in link is incomplete. Start again from the sign-in page.",
                            400)
    body = {"state": q["state"][:200], "code": q.get("code", "")[:4000] or None,
            "error": q.get("error", "")[:200] or None, "browser_key": request.cookies.get(BROWSER_COOKIE)}
    try:
        reply = await ApiClient(request, None).post(f"/auth/sso/{provider}/callback", body)
    except ApiError as error:
        return _api_refusal(request, provider, error)
    if reply.get("session"):
        return _signed_in(request, reply)
    response = _code_page(request, provider)
    response.set_cookie(TICKET_COOKIE, reply["second_factor_ticket"], httponly=True, samesite="lax",
                        secure=cookie_secure(request), path=CODE_PATH, max_age=300)
    response.delete_cookie(BROWSER_COOKIE, path="/sign-in")
    return response


def _routes_of(provider: str) -> None:
    """``/sign-in/<provider>`` (start) and ``/sign-in/<provider>/callback`` (the redirect URI),
    each path spelled out: a ``/sign-in/{provider}`` pattern would hide other console pages."""

    async def start(request: Request) -> Response:
        return await sso_start(request, provider)

    async def callback(request: Request) -> Response:
        return await sso_callback(request, provider)

    router.add_api_route(f"/sign-in/{provider}", start, methods=["GET"])
    router.add_api_route(f"/sign-in/{provider}/callback", callback, methods=["GET"])


for _provider in PROVIDERS:
    _routes_of(_provider)


@router.post(CODE_PATH)
async def sso_code(request: Request) -> Response:
    form = await read_form(request)
    provider = (form.get("provider") or [""])[0]
    code = (form.get("code") or [""])[0].strip().replace(" ", "")
    ticket = request.cookies.get(TICKET_COOKIE)
    if not ticket:
        return refused_page(request, provider, "The time to enter your authentication code ran out. "
                                               "Start again from the sign-in page.", 403)
    body = {"ticket": ticket, ("recovery_code" if "-" in code or len(code) > 8 else "totp_code"): code or None}
    try:
        reply = await ApiClient(request, None).post("/auth/sso/second-factor", body)
    except ApiError as error:
        if error.code in ("two_factor_required", "invalid_credentials", "throttled", "validation_failed"):
            message = error.message if error.code != "validation_failed" else "Enter the code from your app."
            return _code_page(request, provider, error=message, status=error.status)
        return _api_refusal(request, provider, error)
    return _signed_in(request, reply)
