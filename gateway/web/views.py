"""The console's pages: sign-in, dashboard, partners and accounts (the must-have flows).

Every page reads and writes through the public API (:mod:`gateway.web.client`); a form's
errors are shown next to its fields from the API's ``validation_failed`` answer.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from contracts.tenancy import DATA_CENTER_LABELS, AccountStatus, BackupStatus, DefaultSubscription, TaskStatus
from contracts.vocabulary import Permission, TenantKind
from gateway.auth import SESSION_COOKIE
from gateway.web.client import ApiClient, ApiError
from gateway.web.render import (
    LOGIN_CSRF_COOKIE,
    Console,
    console,
    cookie_secure,
    new_login_csrf,
    read_form,
    redirect,
    render,
    same_site_path,
)
from gateway.web.sso_views import configured_providers

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
BILLING_STATUSES = ["none", "current", "due", "overdue"]
DATA_CENTERS = [(dc.value, text) for dc, text in DATA_CENTER_LABELS.items()]
SUBSCRIPTIONS = [s.value for s in DefaultSubscription]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def paging(page: int, page_size: int, total: int) -> dict[str, int]:
    pages = max(1, -(-total // page_size))
    first = 0 if total == 0 else (page - 1) * page_size + 1
    return {"page": page, "pages": pages, "first": first, "last": min(total, page * page_size), "total": total}


def page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1_000_000))
    except ValueError:
        return 1


def query_without(request: Request, *names: str) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in names and v])


# ---- sign-in -----------------------------------------------------------------------------------

# What the sign-in page says after a journey ends there (``?done=``): fixed texts only, so a
# link cannot make the portal's own page say something else.
SIGN_IN_NOTICES = {
    "password-reset": "Your password was changed and every session was ended. Sign in with the new password.",
    "confirmed": "Your address is confirmed and your password is set. Please sign in.",
}


async def _sign_in_page(request: Request, *, status: int = 200, email: str = "", error: str | None = None,
                        two_factor: bool = False, login_csrf: str | None = None) -> HTMLResponse:
    login_csrf = login_csrf or request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = render(request, "sign_in.html", {
        "email": email, "error": error, "two_factor": two_factor, "login_csrf": login_csrf,
        "next": same_site_path(request.query_params.get("next")),
        "notice": SIGN_IN_NOTICES.get(request.query_params.get("done", "")),
        "sso_providers": await configured_providers(request),
    }, status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, login_csrf, httponly=True, samesite="lax", secure=cookie_secure(request),
                        path="/sign-in", max_age=3600)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    return await _sign_in_page(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)

    def field(name: str) -> str:
        return (form.get(name) or [""])[0].strip()

    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or field("login_csrf") != expected:
        return await _sign_in_page(request, status=403, email=field("email"),
                             error="The sign-in form expired; please try again.")
    target = same_site_path(field("next"))  # settled before a session exists
    body: dict[str, Any] = {"email": field("email"), "password": (form.get("password") or [""])[0]}
    code = field("code").replace(" ", "")
    if code:
        body["recovery_code" if "-" in code or len(code) > 8 else "totp_code"] = code
    api = ApiClient(request, None)
    try:
        reply = await api.post("/auth/sign-in", body)
    except ApiError as error:
        return await _sign_in_failed(request, error, field("email"), bool(code))
    if reply.get("password_expired"):
        target = "/settings/security?expired=1"
    response = redirect(request, target)
    response.set_cookie(SESSION_COOKIE, reply["token"], httponly=True, samesite="lax", secure=cookie_secure(request),
                        path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/sign-in")
    return response


async def _sign_in_failed(request: Request, error: ApiError, email: str, had_code: bool) -> Response:
    if error.code == "access_denied":
        if _is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": "/access-denied"})
        return render(request, "access_denied.html", {"your_ip": request.state.caller.ip}, status=403)
    if error.code == "two_factor_required":
        message = "Enter the 6-digit code from your authenticator app (or a recovery code)."
        if had_code:
            message = "That code is not valid; enter the current code from your authenticator app."
        if _is_htmx(request):
            return render(request, "sign_in_code.html", {"message": message},
                          headers={"HX-Retarget": "#second-factor", "HX-Reswap": "innerHTML"})
        return await _sign_in_page(request, status=401, email=email, error=message, two_factor=True)
    message = error.message if error.status in (401, 422, 429) else "Sign-in is not available right now."
    if _is_htmx(request):
        return render(request, "sign_in_error.html", {"error": message},
                      headers={"HX-Retarget": "#sign-in-error", "HX-Reswap": "innerHTML"})
    return await _sign_in_page(request, status=error.status, email=email, error=message)


@router.get("/access-denied")
async def access_denied(request: Request) -> Response:
    return render(request, "access_denied.html", {"your_ip": request.state.caller.ip}, status=403)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    ctx = await console(request)
    with contextlib.suppress(ApiError):  # the session is gone either way: the cookie goes next
        await ctx.api.post("/auth/sign-out")
    response = redirect(request, "/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- dashboard -----------------------------------------------------------------------------------


@router.get("/")
async def dashboard(request: Request) -> Response:
    """The home page follows the tier: a distributor's partners and direct accounts, a
    partner's own customer accounts, a customer account's own backups."""
    ctx = await console(request)
    if not ctx.can(Permission.VIEW_DASHBOARD):
        return ctx.page("home.html")
    if ctx.tier == TenantKind.PARTNER:
        partner_id = ctx.me["tenant_id"]
        partner = await ctx.api.get(f"/partners/{partner_id}")
        return await _accounts_page(ctx, partner, f"/partners/{partner_id}/accounts", str(partner_id))
    if ctx.tier == TenantKind.ACCOUNT:
        return await _account_page(ctx, ctx.me["tenant_id"])
    q = request.query_params
    filters = {"search": q.get("search", "").strip(), "task_status": q.get("task_status", ""),
               "billing_status": q.get("billing_status", "")}
    page, sort = page_number(q.get("page")), sort_of(ctx)
    try:
        data = await ctx.api.get("/dashboard", page=page, page_size=PAGE_SIZE, sort=sort, **filters)
    except ApiError as error:
        if error.status != 422:
            raise
        data = {"items": [], "direct_accounts": None, "page": 1, "page_size": PAGE_SIZE, "total": 0,
                "total_partners": 0, "billing_available": True}
        filters["error"] = error.message
    return ctx.page("dashboard.html", data=data, filters=filters, paging=paging(page, PAGE_SIZE, data["total"]),
                    query=query_without(request, "page"), task_statuses=[s.value for s in TaskStatus],
                    sort=sort, sort_query=query_without(request, "page", "sort"),
                    billing_statuses=["on_track", "with_exceptions"])


# ---- partners and accounts ------------------------------------------------------------------------


DASHBOARD_SORTS = ("name", "size", "amount", "status")
ACCOUNT_SORTS = (*DASHBOARD_SORTS, "backup_status")


def sort_of(ctx: Console, keys: tuple[str, ...] = DASHBOARD_SORTS, default: str = "name") -> str:
    """The list's order from the address: one of ``keys``, descending with ``-``; amounts only
    for users who see money (anything else: ``default``)."""
    sort = ctx.request.query_params.get("sort", default)
    key = sort.removeprefix("-")
    if key not in keys or (key == "amount" and not ctx.sees_money):
        return default
    return sort


async def _accounts_page(ctx: Console, owner: dict[str, Any], path: str, partner_id: str | None) -> Response:
    q = ctx.request.query_params
    filters = {"search": q.get("search", "").strip(), "account_status": q.get("account_status", ""),
               "backup_status": q.get("backup_status", "")}
    if ctx.sees_money:
        filters["billing_status"] = q.get("billing_status", "")
    page, sort = page_number(q.get("page")), sort_of(ctx, ACCOUNT_SORTS)
    data = await ctx.api.get(path, page=page, page_size=PAGE_SIZE, sort=sort, **filters)
    return ctx.page("accounts.html", owner=owner, data=data, filters=filters, partner_id=partner_id, sort=sort,
                    paging=paging(page, PAGE_SIZE, data["total"]), query=query_without(ctx.request, "page"),
                    sort_query=query_without(ctx.request, "page", "sort"),
                    account_statuses=[s.value for s in AccountStatus if s != AccountStatus.REMOVED],
                    backup_statuses=[s.value for s in BackupStatus], billing_statuses=BILLING_STATUSES,
                    notice=q.get("notice"))


@router.get("/partners/new")
async def partner_new(request: Request) -> Response:
    ctx = await console(request)
    return ctx.page("partner_new.html", values={"data_center": "us-east-1"}, errors={},
                    data_centers=DATA_CENTERS, subscriptions=SUBSCRIPTIONS)


@router.post("/partners/new")
async def partner_create(request: Request) -> Response:
    ctx = await console(request)
    names = ("name", "email", "contact_name", "country", "data_center", "address", "phone", "default_subscription")
    values = {name: ctx.value(name) for name in names}
    body = {k: v for k, v in values.items() if v}
    try:
        created = await ctx.api.post("/partners", body)
    except ApiError as error:
        return ctx.page("partner_new.html", status=error.status, values=values, errors=error.fields,
                        error=error.message, data_centers=DATA_CENTERS, subscriptions=SUBSCRIPTIONS)
    notice = f"Partner {created['name']} added; its administrator was invited at {created.get('email')}."
    return redirect(request, f"/partners/{created['id']}?{urlencode({'notice': notice})}")


@router.get("/partners/{partner_id}")
async def partner_view(request: Request, partner_id: uuid.UUID) -> Response:
    ctx = await console(request)
    partner = await ctx.api.get(f"/partners/{partner_id}")
    return await _accounts_page(ctx, partner, f"/partners/{partner_id}/accounts", str(partner_id))


@router.get("/direct-accounts")
async def direct_accounts(request: Request) -> Response:
    ctx = await console(request)
    owner = {"name": "Direct Accounts", "direct": True}
    return await _accounts_page(ctx, owner, "/direct-accounts", None)


@router.get("/accounts/new")
async def account_new(request: Request) -> Response:
    ctx = await console(request)
    partner_id = request.query_params.get("partner_id") or ""
    return ctx.page("account_new.html", values={"partner_id": partner_id}, errors={},
                    subscriptions=SUBSCRIPTIONS, partner=await _partner_or_none(ctx, partner_id))


async def _partner_or_none(ctx: Console, partner_id: str) -> dict[str, Any] | None:
    try:
        return await ctx.api.get(f"/partners/{uuid.UUID(partner_id)}") if partner_id else None
    except (ValueError, ApiError):
        return None


def _owner_path(partner_id: str | None, ctx: Console | None = None) -> str:
    """Where an account's list is: a partner's own list is its home page."""
    if partner_id and ctx is not None and partner_id == ctx.me.get("tenant_id"):
        return "/"
    return f"/partners/{partner_id}" if partner_id else "/direct-accounts"


@router.post("/accounts/new")
async def account_create(request: Request) -> Response:
    ctx = await console(request)
    values = {name: ctx.value(name) for name in ("name", "email", "partner_id", "subscription")}
    body = {k: v for k, v in values.items() if v}
    try:
        created = await ctx.api.post("/accounts", body)
    except ApiError as error:
        return ctx.page("account_new.html", status=error.status, values=values, errors=error.fields,
                        error=error.message, subscriptions=SUBSCRIPTIONS,
                        partner=await _partner_or_none(ctx, values["partner_id"]))
    notice = f"Account {created['name']} added ({created['account_status'].replace('_', ' ')})."
    return redirect(request, f"{_owner_path(values['partner_id'], ctx)}?{urlencode({'notice': notice})}")


@router.post("/accounts/subscribe-trials")
async def subscribe_trials(request: Request) -> Response:
    ctx = await console(request)
    partner_id = ctx.value("partner_id")
    # The page names its list (scope direct, or partner with its id); nothing else is assumed.
    named = {"scope": ctx.value("scope"), "partner_id": partner_id}
    body = {"plan": ctx.value("plan"), **{key: value for key, value in named.items() if value}}
    back = ctx.value("back") or _owner_path(partner_id, ctx)
    try:
        reply = await ctx.api.post("/accounts/subscribe-trials", body)
        notice = f"{reply['changed']} trial account(s) subscribed to the {body['plan']} plan."
    except ApiError as error:
        notice = f"Nothing changed: {error.message}"
    return redirect(request, f"{same_site_path(back)}?{urlencode({'notice': notice})}")


@router.get("/accounts/{account_id}")
async def account_view(request: Request, account_id: uuid.UUID) -> Response:
    ctx = await console(request)
    if str(account_id) == ctx.me.get("tenant_id"):
        return redirect(request, "/")  # a customer's own account is its home page
    return await _account_page(ctx, str(account_id))


async def _account_page(ctx: Console, account_id: str) -> Response:
    account = await ctx.api.get(f"/accounts/{account_id}")
    partner_name = None
    partner_id = account.get("partner_id")
    if partner_id and str(partner_id) != str(ctx.me.get("tenant_id")):
        with contextlib.suppress(ApiError):  # the trail then says "Partner"
            partner_name = (await ctx.api.get(f"/partners/{partner_id}")).get("name")
    return ctx.page("account.html", account=account, errors={}, notice=ctx.request.query_params.get("notice"),
                    partner_name=partner_name)


@router.get("/accounts/{account_id}/delete")
async def account_delete_confirm(request: Request, account_id: uuid.UUID) -> Response:
    """Without JavaScript, a list's "Delete trial" asks here (with it, in a dialog on the list)."""
    ctx = await console(request)
    account = await ctx.api.get(f"/accounts/{account_id}")
    return ctx.page("account_delete.html", account=account, back=same_site_path(request.query_params.get("back")))


@router.post("/accounts/{account_id}/delete")
async def account_delete_trial(request: Request, account_id: uuid.UUID) -> Response:
    ctx = await console(request)
    account = await ctx.api.get(f"/accounts/{account_id}")
    try:
        await ctx.api.delete(f"/accounts/{account_id}")
    except ApiError as error:
        return ctx.page("account.html", status=error.status, account=account, errors={}, error=error.message)
    notice = f"Trial account {account['name']} deleted."
    return redirect(request, f"{_owner_path(account.get('partner_id'), ctx)}?{urlencode({'notice': notice})}")


@router.post("/accounts/{account_id}/remove")
async def account_remove(request: Request, account_id: uuid.UUID) -> Response:
    ctx = await console(request)
    account = await ctx.api.get(f"/accounts/{account_id}")
    approved = ctx.value("approve_data_removal") == "true"
    try:
        await ctx.api.post(f"/accounts/{account_id}/remove", {"approve_data_removal": approved})
    except ApiError as error:
        errors = error.fields or {"approve_data_removal": error.message}
        return ctx.page("account.html", status=error.status, account=account, errors=errors, error=error.message)
    notice = f"Account {account['name']} and all its backup data removed."
    return redirect(request, f"{_owner_path(account.get('partner_id'), ctx)}?{urlencode({'notice': notice})}")


