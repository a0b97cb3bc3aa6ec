"""Templates, formatting (sizes, money, dates, labels) and the page context of the console."""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pycountry
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts.vocabulary import Permission, TenantKind
from gateway.auth import CSRF_HEADER, SESSION_COOKIE, csrf_matches, csrf_token_for
from gateway.web.client import ApiClient, ApiError
from gateway.web.menu import Group, menu

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
LOGIN_CSRF_COOKIE = "portal_login_csrf"
MAX_FORM_BYTES = 64 * 1024

UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_bytes(value: Any) -> str:
    """1536 → "1.5 KB"; binary multiples, the way backup sizes are usually shown."""
    try:
        size = float(value or 0)
    except (TypeError, ValueError):
        return "—"
    unit = 0
    while size >= 1024 and unit < len(UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{int(size)} {UNITS[unit]}" if unit == 0 else f"{size:.1f} {UNITS[unit]}"


def money(amount: Any, currency: str | None = None) -> str:
    """"1234.5", "USD" → "USD 1,234.50" (the page localises it in the browser)."""
    if amount is None:
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return f"{currency or ''} {value:,.2f}".strip()


def label(value: Any) -> str:
    """"no_tasks_yet" → "No tasks yet"."""
    if value is None:
        return "—"
    text = str(value).replace("_", " ")
    return LABELS.get(str(value), text[:1].upper() + text[1:])


LABELS = {
    "on_track": "All bills on track", "with_exceptions": "With exceptions", "no_tasks_yet": "No Tasks Yet",
    "no_accounts_yet": "No Accounts Yet", "successful": "Successful", "failures": "Failures",
    "trial_started": "Trial in progress", "trial_expiring": "Trial expiring", "trial_expired": "Trial expired",
    "monthly_subscribed": "Monthly subscription", "annual_subscribed": "Annual subscription",
    "no_backup": "No backup", "partially_failed": "Partially failed", "failed": "Failed",
    "trial_auto_monthly": "Trial, then monthly subscription", "trial_auto_annual": "Trial, then annual subscription",
    "subscribe_monthly": "Monthly subscription, no trial", "subscribe_annual": "Annual subscription, no trial",
    "credit_card": "Credit card", "invoice": "Invoice", "none": "None",
}


# Form labels in plain words (the API's field names are for programs).
FIELD_LABELS = {
    "title": "Title", "first_name": "First name", "last_name": "Last name", "billing_email": "Billing email",
    "company": "Company", "company_tax_id": "Company tax ID", "address_line1": "Address line 1",
    "address_line2": "Address line 2", "address_line3": "Address line 3", "city": "City",
    "state": "State or region", "zip": "ZIP or postal code", "country": "Country", "phone": "Phone",
    "currency": "Currency", "payment_day": "Card payment day (1 to 28)", "invoice_delivery": "Email invoices as",
}


@functools.cache
def countries() -> list[tuple[str, str]]:
    """(ISO 3166 code, name) of every country, by name: the country pickers' list."""
    return sorted(((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries),
                  key=lambda pair: pair[1])


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(bytes=human_bytes, money=money, label=label, urlquote=lambda v: quote(str(v), safe=""))
    # Templates name permissions and tenant kinds as contracts' members: console.can(Permission.VIEW_BILLING).
    env.globals.update(Permission=Permission, TenantKind=TenantKind, FIELD_LABELS=FIELD_LABELS,
                       countries=countries)
    return env


ENV = environment()


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


# What may stand in a redirect target as sent: RFC 3986's path, query and fragment characters.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]+")


def _percent_decoded(text: str) -> str | None:
    """``text`` with every layer of percent-encoding undone (None past four layers)."""
    for _ in range(4):
        decoded = unquote(text, errors="strict")
        if decoded == text:
            return text
        text = decoded
    return None


def _invisible(character: str, space_allowed: bool = False) -> bool:
    """A control, format, unassigned or separator character (a space only where not allowed)."""
    category = unicodedata.category(character)
    return category[0] == "C" or (category[0] == "Z" and not (space_allowed and category == "Zs"))


def same_site_path(value: str | None) -> str:
    """``value`` when it is one plain path of this site (with its query), else ``/`` (the dashboard).

    Never an open redirect and never a broken header: only URL characters as sent; once
    percent-decoding is undone (every layer), the path starts with a single ``/`` and has
    no ``//``, no backslash, no ``.``/``..`` segment, no scheme or host, and no control,
    format or whitespace character, and the query and fragment no control, format or line
    separator character.
    A browser drops tabs and newlines from a URL: ``/<tab>/evil.example`` is
    ``//evil.example``, another site."""
    if not value or not _URL_CHARACTERS.fullmatch(value):
        return "/"
    raw_path = re.split(r"[?#]", value, maxsplit=1)[0]
    try:
        path, rest = _percent_decoded(raw_path), _percent_decoded(value[len(raw_path):])
    except UnicodeDecodeError:
        return "/"
    if path is None or rest is None:
        return "/"
    parts = urlsplit(path)
    if (not path.startswith("/") or "//" in path or "\\" in path or parts.scheme or parts.netloc
            or any(segment in (".", "..") for segment in path.split("/"))
            or any(_invisible(c) for c in path) or any(_invisible(c, space_allowed=True) for c in rest)):
        return "/"
    return value


def redirect(request: Request, url: str) -> Response:
    """A 303 to ``url``; an htmx request gets ``HX-Redirect`` instead (it would swap the page in).

    Every target goes through :func:`same_site_path` first, whoever made it."""
    url = same_site_path(url)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in" if target in ("/", "/sign-in") else f"/sign-in?next={quote(target, safe='')}"


def render(request: Request, template: str, context: dict[str, Any], status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    html = ENV.get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def read_form(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (what every console form sends)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "payload_too_large", "the form is too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass
class Console:
    """A signed-in page: the API client, the user, the CSRF token, and the submitted form."""

    request: Request
    api: ApiClient
    me: dict[str, Any]
    csrf: str
    form: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].strip() if values else default

    def values(self, name: str) -> list[str]:
        return [v for v in self.form.get(name, []) if v]

    def can(self, permission: Permission) -> bool:
        return self.me.get("role") == "administrator" or permission in self.me.get("permissions", [])

    @property
    def tier(self) -> str | None:
        """The tenant kind of the signed-in user: which portal they get."""
        return self.me.get("tenant_kind")

    @property
    def can_open_support(self) -> bool:
        """The support page: open to every user above a customer account; in one, it needs
        the account-operations permission "View support page"."""
        return self.tier != TenantKind.ACCOUNT or self.can(Permission.ACCOUNT_VIEW_SUPPORT)

    @property
    def can_view_settings(self) -> bool:
        """Account settings: "View settings" above an account, "View Account setting page" in one."""
        if self.tier == TenantKind.ACCOUNT:
            return self.can(Permission.ACCOUNT_VIEW_SETTINGS)
        return self.can(Permission.VIEW_SETTINGS)

    def require(self, allowed: bool) -> None:
        """Access Denied (403) at a page's URL for a user whose permissions do not show it."""
        if not allowed:
            raise ApiError(403, "permission_denied", "You do not have the permission to open this page.")

    @property
    def is_admin(self) -> bool:
        return self.me.get("role") == "administrator"

    @property
    def sees_money(self) -> bool:
        kind = self.me.get("tenant_kind")
        return kind in (TenantKind.DISTRIBUTOR, TenantKind.OPERATOR) and self.can(Permission.VIEW_BILLING)

    def menu(self) -> list[Group]:
        """The menu groups for this page (gateway.web.menu)."""
        return menu(self, self.request.url.path)

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, {"console": self, "me": self.me, "csrf": self.csrf, **context},
                      status=status)


async def console(request: Request) -> Console:
    """The signed-in console context; unsafe methods must carry the page's CSRF token."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Redirect(sign_in_url(request))
    form: dict[str, list[str]] = {}
    if request.method not in ("GET", "HEAD"):
        form = await read_form(request)
        sent = request.headers.get(CSRF_HEADER) or (form.get("csrf_token") or [""])[0]
        if not csrf_matches(token, sent):
            raise ApiError(403, "csrf_failed", "This form has expired or did not come from the portal: "
                                               "reload the page and try again.")
    api = ApiClient(request, token)
    try:
        me = await api.get("/me")
    except ApiError as error:
        if error.status == 401:
            raise Redirect(sign_in_url(request)) from None
        raise
    return Console(request, api, me, csrf_token_for(token), form)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def cookie_secure(request: Request) -> bool:
    settings = request.app.state.settings
    return request.url.scheme == "https" or str(settings.public_base_url).startswith("https://")
