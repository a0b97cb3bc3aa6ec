"""The console's pages behind the links in mail, for people who are not signed in yet:
confirming an address (and choosing the password of an invited user), asking for a new
confirmation link, "Forgot your password?" and choosing a new password.

Like every page they work through the public API. The forms carry a token that must match
a cookie of the page (double submit), as the sign-in form does: another site cannot submit
them in the visitor's name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateway.auth import SESSION_COOKIE
from gateway.web.client import ApiClient, ApiError
from gateway.web.render import cookie_secure, new_login_csrf, read_form, redirect, render

router = APIRouter(include_in_schema=False)
FORM_COOKIE = "portal_link_form"
THROTTLED = "Too many requests from here; please wait a minute and try again."


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page whose forms carry this visitor's form token (set as a cookie for the page)."""
    form_token = request.cookies.get(FORM_COOKIE) or new_login_csrf()
    response = render(request, template, {"form_token": form_token, "errors": {}, **context}, status=status)
    response.set_cookie(FORM_COOKIE, form_token, httponly=True, samesite="lax", secure=cookie_secure(request),
                        path="/", max_age=3600)
    return response


class Form:
    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def value(self, name: str) -> str:
        return (self.fields.get(name) or [""])[0].strip()

    def secret(self, name: str) -> str:
        return (self.fields.get(name) or [""])[0]  # passwords are taken as typed


async def _form(request: Request) -> Form | None:
    """The submitted form, or None when it did not come from our page (token ≠ cookie)."""
    form = Form(await read_form(request))
    expected = request.cookies.get(FORM_COOKIE)
    return form if expected and form.value("form_token") == expected else None


def _expired_form(request: Request) -> HTMLResponse:
    return _page(request, "link_message.html", status=403, title="This form has expired",
                 message="Please open the link from your mail again.")


def _password_pair(form: Form, name: str) -> tuple[str, dict[str, str]]:
    """The new password, or the reason to ask again (the two entries differ)."""
    password = form.secret(name)
    if password != form.secret(f"confirm_{name}"):
        return password, {f"confirm_{name}": "The two passwords are not the same; type them again."}
    return password, {}


def _field_errors(error: ApiError, name: str) -> dict[str, str]:
    return error.fields or {name: error.message}


# ---- confirming an address ------------------------------------------------------------------------


@router.get("/confirm-email")
async def confirm_email_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    link = await _inspect(request, "/auth/confirm-email/check", token)
    return _confirm_page(request, token, link)


async def _inspect(request: Request, path: str, token: str) -> dict[str, Any]:
    if not 16 <= len(token) <= 200:
        return {"state": "unknown"}
    return await ApiClient(request, None).post(path, {"token": token})


def _confirm_page(request: Request, token: str, link: dict[str, Any], status: int = 200,
                  **context: Any) -> HTMLResponse:
    return _page(request, "confirm_email.html", status=status, token=token, link=link, **context)


@router.post("/confirm-email")
async def confirm_email(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return _expired_form(request)
    token = form.value("token")
    api = ApiClient(request, None)
    link = await _inspect(request, "/auth/confirm-email/check", token)
    if link["state"] != "usable":
        return _confirm_page(request, token, link, status=422)
    body: dict[str, Any] = {"token": token}
    if link.get("needs_password"):
        password, errors = _password_pair(form, "password")
        if errors:
            return _confirm_page(request, token, link, status=422, errors=errors)
        body["password"] = password
    try:
        await api.post("/auth/confirm-email", body)
    except ApiError as error:
        return _confirm_page(request, token, link, status=error.status, errors=_field_errors(error, "password"))
    if not link.get("needs_password"):
        return _page(request, "link_message.html", title="Address confirmed",
                     message=f"{link.get('email')} is confirmed. You can sign in now.",
                     action=("/sign-in", "Sign in"))
    return await _sign_in_after_confirming(request, api, link["email"], body["password"])


async def _sign_in_after_confirming(request: Request, api: ApiClient, email: str, password: str) -> Response:
    """The invited user has just chosen the password: sign them in with it, as the sign-in
    page would (IP restrictions apply; where they refuse, the user learns why)."""
    try:
        reply = await api.post("/auth/sign-in", {"email": email, "password": password})
    except ApiError as error:
        if error.code == "access_denied":
            return render(request, "access_denied.html", {"your_ip": request.state.caller.ip}, status=403)
        return redirect(request, "/sign-in?done=confirmed")
    response = redirect(request, "/")
    response.set_cookie(SESSION_COOKIE, reply["token"], httponly=True, samesite="lax", secure=cookie_secure(request),
                        path="/")
    return response


@router.post("/confirm-email/resend")
async def resend_confirmation(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return _expired_form(request)
    token, email = form.value("token"), form.value("email")
    body = {"token": token} if token and not email else {"email": email}
    try:
        await ApiClient(request, None).post("/auth/confirm-email/resend", body)
    except ApiError as error:
        message = THROTTLED if error.status == 429 else error.message
        errors = error.fields or ({"email": message} if email else {})
        link = {"state": "unknown"} if email or not token else await _inspect(request, "/auth/confirm-email/check",
                                                                              token)
        return _confirm_page(request, token, link, status=error.status, errors=errors, resend_error=message,
                             email=email)
    return _page(request, "link_message.html", title="Check your mail",
                 message="If this address is still waiting for its confirmation, a new link is on its way. "
                         "It works for 24 hours; older links no longer work.")


# ---- forgot password ----------------------------------------------------------------------------


@router.get("/forgot-password")
async def forgot_password_page(request: Request) -> Response:
    return _page(request, "forgot_password.html", email=request.query_params.get("email", ""))


@router.post("/forgot-password")
async def forgot_password(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return _expired_form(request)
    email = form.value("email")
    try:
        await ApiClient(request, None).post("/auth/password-reset", {"email": email})
    except ApiError as error:
        message = THROTTLED if error.status == 429 else error.message
        return _page(request, "forgot_password.html", status=error.status, email=email,
                     errors={"email": (error.fields or {}).get("email", message)})
    return _page(request, "link_message.html", title="Check your mail",
                 message=f"If {email} belongs to a portal user, a mail is on its way. A reset link works once, "
                         "for 60 minutes; asking again makes the older link stop working.",
                 action=("/sign-in", "Back to sign-in"))


@router.get("/reset-password")
async def reset_password_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    link = await _inspect(request, "/auth/password-reset/check", token)
    return _page(request, "reset_password.html", token=token, link=link)


@router.post("/reset-password")
async def reset_password(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return _expired_form(request)
    token = form.value("token")
    link = await _inspect(request, "/auth/password-reset/check", token)
    password, errors = _password_pair(form, "new_password")
    if link["state"] != "usable" or errors:
        return _page(request, "reset_password.html", status=422, token=token, link=link, errors=errors)
    try:
        await ApiClient(request, None).post("/auth/password-reset/confirm", {"token": token, "new_password": password})
    except ApiError as error:
        if error.status == 429:
            errors = {"new_password": THROTTLED}
        return _page(request, "reset_password.html", status=error.status, token=token, link=link,
                     errors=errors or _field_errors(error, "new_password"))
    response = redirect(request, "/sign-in?done=password-reset")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
