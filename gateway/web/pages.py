"""The console's other pages: security, audit, billing, settings, users, notifications,
Backup Radar, learning hub and support. Same rule as :mod:`gateway.web.views`: the public API
does the work; these only read forms and render answers."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.audit import Activity
from contracts.notify import CsvDelivery, Frequency, NotificationType
from contracts.tenancy import AccountStatus
from contracts.vocabulary import Permission, TenantKind
from gateway.web.client import ApiError
from gateway.web.qr import qr_svg
from gateway.web.render import Console, console, redirect
from gateway.web.views import PAGE_SIZE, SUBSCRIPTIONS, page_number, paging, query_without, sort_of

router = APIRouter(include_in_schema=False)

PERMISSIONS = [
    (Permission.VIEW_SETTINGS, "View settings"), (Permission.VIEW_BILLING, "View billing and manage payment"),
    (Permission.VIEW_BILLING_NOTIFICATIONS, "View billing notifications"),
    (Permission.VIEW_DASHBOARD, "View dashboard"),
    (Permission.VIEW_SECURITY_AUDIT, "View security audit"), (Permission.ADD_ACCOUNTS, "Add accounts"),
    (Permission.SUBSCRIBE_ACCOUNTS, "Subscribe accounts"), (Permission.MANAGE_NOTIFICATIONS, "Manage notifications"),
    (Permission.ACCOUNT_VIEW_SETTINGS, "Account: view account settings"),
    (Permission.ACCOUNT_VIEW_BILLING, "Account: view billing"),
    (Permission.ACCOUNT_VIEW_SUPPORT, "Account: view support"),
]


def _back(path: str, notice: str) -> str:
    return f"{path}?{urlencode({'notice': notice})}"


# ---- security: password, two-factor, IP restrictions ----------------------------------------------


async def _security(ctx: Console, status: int = 200, **extra: Any) -> Response:
    restrictions = policy = None
    if ctx.can(Permission.VIEW_SETTINGS):
        try:
            restrictions = await ctx.api.get("/security/ip-restrictions")
            policy = await ctx.api.get("/security/password-policy")
        except ApiError as error:
            if error.code != "password_expired":
                raise  # an expired password may still be changed on this page; the rest waits
    context: dict[str, Any] = {"restrictions": restrictions, "policy": policy, "errors": {}, "values": {},
                               "notice": ctx.request.query_params.get("notice"),
                               "expired": ctx.request.query_params.get("expired")}
    context.update(extra)
    return ctx.page("security.html", status=status, **context)


@router.get("/settings/security")
async def security(request: Request) -> Response:
    return await _security(await console(request))


@router.post("/settings/security/password")
async def change_password(request: Request) -> Response:
    ctx = await console(request)
    body = {name: (ctx.form.get(name) or [""])[0]
            for name in ("current_password", "new_password", "confirm_password")}
    try:
        await ctx.api.post("/me/password", body)
    except ApiError as error:
        errors = error.fields or {"new_password": error.message}
        return await _security(ctx, status=error.status, password_errors=errors, password_error=error.message)
    return redirect(request, _back("/settings/security", "Password changed; your other sessions were ended."))


@router.post("/settings/security/two-factor/setup")
async def two_factor_setup(request: Request) -> Response:
    ctx = await console(request)
    setup = await ctx.api.post("/me/two-factor/setup")
    return await _security(ctx, setup=setup, qr=qr_svg(setup["otpauth_uri"]))


@router.post("/settings/security/two-factor/enable")
async def two_factor_enable(request: Request) -> Response:
    ctx = await console(request)
    try:
        reply = await ctx.api.post("/me/two-factor/enable", {"code": ctx.value("code")})
    except ApiError as error:
        return await _security(ctx, status=error.status, two_factor_error=error.message)
    return await _security(ctx, recovery_codes=reply.get("recovery_codes", []))


@router.post("/settings/security/two-factor/disable")
async def two_factor_disable(request: Request) -> Response:
    ctx = await console(request)
    try:
        await ctx.api.delete("/me/two-factor", {"code": ctx.value("code")})
    except ApiError as error:
        return await _security(ctx, status=error.status, two_factor_error=error.message)
    return redirect(request, _back("/settings/security", "Two-factor authentication turned off."))


@router.post("/settings/security/ip-entries")
async def add_ip_entry(request: Request) -> Response:
    ctx = await console(request)
    values = _entry_values(ctx)
    try:
        added = await ctx.api.post("/security/ip-restrictions/entries", _entry_body(values))
    except ApiError as error:
        errors = error.fields or {"addresses" if values["kind"] != "range" else "range_from": error.message}
        return await _security(ctx, status=error.status, errors=errors, values=values, ip_error=error.message)
    note = f" {added['note']}" if added.get("note") else ""
    return redirect(request, _back("/settings/security", f"Trusted address added.{note}"))


def _entry_values(ctx: Console) -> dict[str, str]:
    return {name: ctx.value(name) for name in ("description", "kind", "addresses", "range_from", "range_to")}


def _entry_body(values: dict[str, str]) -> dict[str, Any]:
    """What the API takes for an entry: the description and either addresses or a range."""
    body: dict[str, Any] = {"description": values["description"]}
    if values["kind"] == "range":
        body.update(range_from=values["range_from"], range_to=values["range_to"])
    else:
        body["addresses"] = values["addresses"]
    return body


@router.get("/settings/security/ip-entries/{entry_id}/edit")
async def edit_ip_entry(request: Request, entry_id: uuid.UUID) -> Response:
    """The security page with this entry's row as a form (edit in place, no script needed)."""
    return await _security(await console(request), editing=str(entry_id))


@router.post("/settings/security/ip-entries/{entry_id}")
async def save_ip_entry(request: Request, entry_id: uuid.UUID) -> Response:
    ctx = await console(request)
    values = _entry_values(ctx)
    try:
        await ctx.api.call("PATCH", f"/security/ip-restrictions/entries/{entry_id}", json=_entry_body(values))
    except ApiError as error:
        errors = error.fields or {"addresses" if values["kind"] != "range" else "range_from": error.message}
        return await _security(ctx, status=error.status, editing=str(entry_id), edit_values=values,
                               edit_errors=errors, edit_error=error.message)
    return redirect(request, _back("/settings/security", "Trusted address saved."))


@router.post("/settings/security/ip-entries/{entry_id}/delete")
async def delete_ip_entry(request: Request, entry_id: uuid.UUID) -> Response:
    ctx = await console(request)
    try:
        await ctx.api.delete(f"/security/ip-restrictions/entries/{entry_id}")
    except ApiError as error:
        return await _security(ctx, status=error.status, ip_error=error.message)
    return redirect(request, _back("/settings/security", "Trusted address removed."))


@router.post("/settings/security/ip-restrictions")
async def set_ip_restrictions(request: Request) -> Response:
    ctx = await console(request)
    enabled = ctx.value("enabled") == "true"
    try:
        await ctx.api.put("/security/ip-restrictions", {"enabled": enabled})
    except ApiError as error:
        message = error.message
        if error.code == "own_ip_not_trusted":
            message = ("You would lock yourself out: your IP address is not in the trusted list. "
                       "Add it first, then turn IP restrictions on.")
        return await _security(ctx, status=error.status, toggle_error=message)
    return redirect(request, _back("/settings/security", f"IP restrictions turned {'on' if enabled else 'off'}."))


@router.post("/settings/security/password-policy")
async def set_password_policy(request: Request) -> Response:
    ctx = await console(request)
    body = {"expiration_enabled": ctx.value("expiration_enabled") == "true",
            "max_age_days": ctx.value("max_age_days") or None}
    try:
        await ctx.api.put("/security/password-policy", body)
    except ApiError as error:
        return await _security(ctx, status=error.status, policy_error=error.message)
    return redirect(request, _back("/settings/security", "Password policy saved."))


# ---- security audit ---------------------------------------------------------------------------------

AUDIT_FILTERS = ("from", "to", "activity", "status", "account", "performed_by")


@router.get("/audit")
async def audit(request: Request) -> Response:
    ctx = await console(request)
    q = request.query_params
    filters = {name: q.get(name, "").strip() for name in AUDIT_FILTERS}
    page, sort = page_number(q.get("page")), sort_of(ctx, ("date",), "-date")
    error = None
    try:
        data = await ctx.api.get("/audit", page=page, page_size=PAGE_SIZE, sort=sort, **filters)
    except ApiError as failure:
        if failure.status != 422:
            raise
        data, error = {"items": [], "total": 0, "total_capped": False}, failure
    export = urlencode({k: v for k, v in filters.items() if v})
    options = await _account_options(ctx)
    return ctx.page("audit.html", data=data, filters=filters, account_options=options,
                    paging=paging(page, PAGE_SIZE, data["total"]), sort=sort,
                    sort_query=query_without(request, "page", "sort"),
                    query=query_without(request, "page"), activities=[a.value for a in Activity],
                    export_url="/api/v1/audit/export.csv" + (f"?{export}" if export else ""),
                    errors=error.fields if error else {}, error=error.message if error else None)


ACCOUNT_OPTIONS = 200  # the picker's suggestions; typing a part of any other name still filters by it


async def _account_options(ctx: Console) -> list[dict[str, Any]]:
    """The accounts the user sees, by name, for a picker's suggestions (none if not allowed)."""
    try:
        return list((await ctx.api.get("/accounts", page_size=ACCOUNT_OPTIONS))["items"])
    except ApiError:
        return []


# ---- billing -------------------------------------------------------------------------------------------


@router.get("/billing")
async def billing(request: Request) -> Response:
    ctx = await console(request)
    q = request.query_params
    page, sort = page_number(q.get("page")), sort_of(ctx, ("name", "status", "amount"))
    method = await ctx.api.get("/billing/method")
    rows = await ctx.api.get("/billing/status", page=page, page_size=PAGE_SIZE, sort=sort,
                             billing_status=q.get("billing_status") or None)
    return ctx.page("billing.html", method=method, rows=rows, paging=paging(page, PAGE_SIZE, rows["total"]),
                    query=query_without(request, "page"), billing_status=q.get("billing_status", ""),
                    sort=sort, sort_query=query_without(request, "page", "sort"), notice=q.get("notice"))


@router.get("/billing/accounts/{account_id}")
async def billing_account(request: Request, account_id: uuid.UUID) -> Response:
    """One account's billing summary (the account's name on Billing status opens it)."""
    ctx = await console(request)
    summary = await ctx.api.get(f"/billing/accounts/{account_id}")
    return ctx.page("billing_account.html", summary=summary)


@router.post("/billing/method")
async def billing_method(request: Request) -> Response:
    ctx = await console(request)
    try:
        await ctx.api.put("/billing/method", {"method": ctx.value("method")})
    except ApiError as error:
        return redirect(request, _back("/billing", f"Not changed: {error.message}"))
    return redirect(request, _back("/billing", "Billing method saved."))


@router.get("/billing/history")
async def billing_history(request: Request) -> Response:
    ctx = await console(request)
    page, sort = page_number(request.query_params.get("page")), sort_of(ctx, ("date", "due", "amount"), "-date")
    history = await ctx.api.get("/billing/history", page=page, page_size=PAGE_SIZE, sort=sort)
    return ctx.page("history.html", history=history, paging=paging(page, PAGE_SIZE, history["total"]), sort=sort,
                    query=query_without(request, "page"), sort_query=query_without(request, "page", "sort"))


DETAIL_FIELDS = ("title", "first_name", "last_name", "billing_email", "company", "company_tax_id", "address_line1",
                 "address_line2", "address_line3", "city", "state", "zip", "country", "phone", "currency",
                 "payment_day", "invoice_delivery")


@router.get("/billing/payment")
async def payment(request: Request) -> Response:
    ctx = await console(request)
    details = await ctx.api.get("/billing/details")
    cards = await ctx.api.get("/billing/cards")
    return ctx.page("payment.html", details=details, values=(details or {}).get("details") or {}, cards=cards,
                    errors={}, fields=DETAIL_FIELDS, notice=request.query_params.get("notice"),
                    card_form_url=request.app.state.settings.card_form_url)


@router.post("/billing/payment")
async def payment_save(request: Request) -> Response:
    ctx = await console(request)
    values = {name: ctx.value(name) for name in DETAIL_FIELDS}
    try:
        await ctx.api.put("/billing/details", {k: v for k, v in values.items() if v})
    except ApiError as error:
        cards = await ctx.api.get("/billing/cards")
        return ctx.page("payment.html", status=error.status, details=None, values=values, cards=cards,
                        errors=error.fields, error=error.message, fields=DETAIL_FIELDS,
                        card_form_url=request.app.state.settings.card_form_url)
    return redirect(request, _back("/billing/payment", "Billing details saved."))


# ---- settings: account and users -----------------------------------------------------------------------

ACCOUNT_FIELDS = ("name", "email", "address", "phone", "default_subscription")


@router.get("/settings/account")
async def account_settings(request: Request) -> Response:
    ctx = await console(request)
    ctx.require(ctx.can_view_settings)
    profile = await ctx.api.get("/settings/account")
    return ctx.page("settings_account.html", profile=profile, values=profile, errors={}, subscriptions=SUBSCRIPTIONS,
                    notice=request.query_params.get("notice"))


@router.post("/settings/account")
async def account_settings_save(request: Request) -> Response:
    ctx = await console(request)
    values = {name: ctx.value(name) for name in ACCOUNT_FIELDS}
    try:
        await ctx.api.put("/settings/account", {k: v for k, v in values.items() if v})
    except ApiError as error:
        profile = await ctx.api.get("/settings/account")
        return ctx.page("settings_account.html", status=error.status, profile=profile, values=values,
                        errors=error.fields, error=error.message, subscriptions=SUBSCRIPTIONS)
    return redirect(request, _back("/settings/account", "Account settings saved."))


def _user_errors(error: ApiError) -> dict[str, str]:
    """The API's field errors keyed by the form's controls: ``accessible_accounts.list[uuid].0``
    → ``accessible_accounts`` (the deepest, most telling reason wins)."""
    found: dict[str, tuple[int, str]] = {}
    for name, reason in error.fields.items():
        top, depth = name.split(".")[0], name.count(".")
        if top not in found or depth > found[top][0]:
            found[top] = (depth, reason)
    return {name: reason for name, (_, reason) in found.items()}


def _summary(error: ApiError, errors: dict[str, str]) -> str:
    """Above the form: the API's message, or a pointer to the fields when it names them."""
    if error.code == "validation_failed" and errors:
        return "Not saved: please correct the marked fields."
    return error.message


def _access_values(ctx: Console) -> dict[str, Any]:
    """Role, permissions and accessible accounts as the form sent them (kept on a refusal)."""
    return {"role": ctx.value("role") or "administrator", "permissions": ctx.values("permissions"),
            "access": "chosen" if ctx.value("access") == "chosen" else "all",
            "accounts": " ".join(ctx.values("accounts"))}


def _access_body(values: dict[str, Any]) -> dict[str, Any]:
    """The API's role, permissions and accessible_accounts; the API judges them."""
    chosen = _account_ids(values)
    return {"role": values["role"], "permissions": values["permissions"] if values["role"] == "custom" else [],
            "accessible_accounts": chosen if values["access"] == "chosen" else "all"}


def _account_ids(values: dict[str, Any]) -> list[str]:
    """The chosen accounts' ids (the picker's ticked boxes), in the order given."""
    return values["accounts"].replace(",", " ").split()


def _user_values(user: dict[str, Any]) -> dict[str, Any]:
    chosen = user.get("accessible_accounts")
    return {"role": user.get("role"), "permissions": user.get("permissions") or [],
            "display_name": user.get("display_name") or "", "credential_type": user.get("credential_type"),
            "access": "all" if chosen == "all" else "chosen",
            "accounts": "" if chosen == "all" else "\n".join(str(a) for a in chosen or [])}


TENANT_KINDS: dict[str, str] = {TenantKind.OPERATOR: "operator", TenantKind.DISTRIBUTOR: "distributor",
                                TenantKind.PARTNER: "partner", TenantKind.ACCOUNT: "customer account"}


async def _users(ctx: Console, status: int = 200, page: int = 1, **extra: Any) -> Response:
    sort = sort_of(ctx, ("email", "name", "role"), "email")
    data = await ctx.api.get("/users", page=page, page_size=PAGE_SIZE, sort=sort)
    own: dict[str, Any] = {}
    with contextlib.suppress(ApiError):  # only its name is shown: the invitation works without it
        own = await ctx.api.get("/settings/account")
    context: dict[str, Any] = {"data": data, "paging": paging(page, PAGE_SIZE, data["total"]), "sort": sort,
                               "query": query_without(ctx.request, "page"),
                               "sort_query": query_without(ctx.request, "page", "sort"),
                               "own_tenant": own, "permissions": PERMISSIONS, "errors": {},
                               "values": {"role": "administrator", "access": "all"},
                               "notice": ctx.request.query_params.get("notice")}
    context.update(extra)
    context["chosen"] = await _account_names(ctx, context["values"])
    context["finder"] = await _account_finder(ctx, context["values"])
    return ctx.page("users.html", status=status, **context)


@router.get("/settings/users")
async def users(request: Request) -> Response:
    return await _users(await console(request), page=page_number(request.query_params.get("page")))


@router.post("/settings/users")
async def user_invite(request: Request) -> Response:
    ctx = await console(request)
    values = {"email": ctx.value("email"), "display_name": ctx.value("display_name"),
              "tenant_id": ctx.value("tenant_id").strip(), "credential_type": ctx.value("credential_type"),
              **_access_values(ctx)}
    body: dict[str, Any] = {"email": values["email"], "credential_type": values["credential_type"] or "password",
                            **_access_body(values)}
    for optional in ("display_name", "tenant_id"):
        if values[optional]:
            body[optional] = values[optional]
    values["chooser"] = "administrator" if ctx.value("chooser") == "administrator" else "user"
    if body["credential_type"] == "password" and values["chooser"] == "administrator":
        body["password"] = (ctx.form.get("password") or [""])[0]  # as typed; never kept in the values
    try:
        user = await ctx.api.post("/users", body)
    except ApiError as error:
        errors = _user_errors(error)
        return await _users(ctx, status=error.status, values=values, errors=errors, error=_summary(error, errors))
    kind = TENANT_KINDS.get(str(user.get("tenant_kind")), "tenant")
    joined = "" if user.get("tenant_id") == ctx.me.get("tenant_id") else f" into the {kind} {user.get('tenant_id')}"
    return redirect(request, _back("/settings/users",
                                   f"{values['email']} invited{joined}: a confirmation mail is on its way."))


async def _account_names(ctx: Console, values: dict[str, Any]) -> list[dict[str, str]]:
    """The chosen accounts with their names, for reading the list back (the first 25 are looked up)."""
    ids = _account_ids(values) if values["access"] == "chosen" else []
    named: list[dict[str, str]] = []
    for index, account_id in enumerate(ids):
        name = ""
        if index < PAGE_SIZE:
            with contextlib.suppress(ApiError, ValueError):
                uuid.UUID(account_id)
                name = (await ctx.api.get(f"/accounts/{account_id}")).get("name") or ""
        named.append({"id": account_id, "name": name})
    return named


FOUND_ACCOUNTS = 50
ACCOUNT_STATUSES = [s.value for s in AccountStatus if s != AccountStatus.REMOVED]


async def _account_finder(ctx: Console, values: dict[str, Any]) -> dict[str, Any]:
    """The accessible-accounts picker: accounts by name or email and status (``account_search``,
    ``account_status`` in the address), less the ones already chosen."""
    q = ctx.request.query_params
    search, status = q.get("account_search", "").strip()[:200], q.get("account_status", "")
    chosen = set(_account_ids(values)) if values.get("access") == "chosen" else set()
    found: list[dict[str, Any]] = []
    with contextlib.suppress(ApiError):  # a user without the pickers' permission gets an empty list
        page = await ctx.api.get("/accounts", search=search or None, page_size=FOUND_ACCOUNTS,
                                 status=status if status in ACCOUNT_STATUSES else None)
        found = [a for a in page["items"] if a["id"] not in chosen]
    return {"search": search, "status": status, "found": found, "statuses": ACCOUNT_STATUSES}


async def _user_edit(ctx: Console, user: dict[str, Any], values: dict[str, Any], status: int = 200,
                     **extra: Any) -> Response:
    context: dict[str, Any] = {"user": user, "values": values, "errors": {}, "permissions": PERMISSIONS,
                               "chosen": await _account_names(ctx, values),
                               "finder": await _account_finder(ctx, values)}
    context.update(extra)
    return ctx.page("user_edit.html", status=status, **context)


@router.get("/settings/users/{user_id}")
async def user_edit(request: Request, user_id: uuid.UUID) -> Response:
    ctx = await console(request)
    user = await ctx.api.get(f"/users/{user_id}")
    return await _user_edit(ctx, user, _user_values(user))


@router.post("/settings/users/{user_id}")
async def user_save(request: Request, user_id: uuid.UUID) -> Response:
    ctx = await console(request)
    values = {**_access_values(ctx), "display_name": ctx.value("display_name"),
              "credential_type": ctx.value("credential_type")}
    body = _access_body(values)
    for optional in ("display_name", "credential_type"):  # blank: left as it is
        if values[optional]:
            body[optional] = values[optional]
    try:
        user = await ctx.api.call("PATCH", f"/users/{user_id}", json=body)
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        user = await ctx.api.get(f"/users/{user_id}")
        errors = _user_errors(error) or {"role": error.message}
        return await _user_edit(ctx, user, values, status=error.status, errors=errors, error=_summary(error, errors))
    return redirect(request, _back("/settings/users", f"{user['email']}: saved."))


# ---- notifications and Backup Radar ---------------------------------------------------------------------


async def _notifications(ctx: Console, status: int = 200, **extra: Any) -> Response:
    recipients = await ctx.api.get("/notifications/recipients", page=1, page_size=200)
    settings = await ctx.api.get("/notifications/settings")
    context: dict[str, Any] = {"recipients": recipients, "settings": settings, "values": {}, "errors": {},
                               "types": [t.value for t in NotificationType],
                               "frequencies": [f.value for f in Frequency],
                               "deliveries": [d.value for d in CsvDelivery],
                               "notice": ctx.request.query_params.get("notice")}
    context.update(extra)
    return ctx.page("notifications.html", status=status, **context)


@router.get("/notifications")
async def notifications(request: Request) -> Response:
    ctx = await console(request)
    ctx.require(ctx.tier != TenantKind.ACCOUNT)  # a customer's reports are its partner's to set
    return await _notifications(ctx)


@router.post("/notifications/recipients")
async def recipient_add(request: Request) -> Response:
    ctx = await console(request)
    values = {"email": ctx.value("email"), "display_name": ctx.value("display_name"), "types": ctx.values("types")}
    try:
        body = {"email": values["email"], "types": values["types"]}
        if values["display_name"]:
            body["display_name"] = values["display_name"]
        await ctx.api.post("/notifications/recipients", body)
    except ApiError as error:
        return await _notifications(ctx, status=error.status, values=values,
                                    errors=error.fields or {"email": error.message}, error=error.message)
    return redirect(request, _back("/notifications", f"{values['email']} added."))


@router.get("/notifications/recipients/{recipient_id}/edit")
async def recipient_edit(request: Request, recipient_id: uuid.UUID) -> Response:
    """The notifications page with this recipient's row as a form (edit in place)."""
    ctx = await console(request)
    ctx.require(ctx.tier != TenantKind.ACCOUNT)
    return await _notifications(ctx, editing=str(recipient_id))


@router.post("/notifications/recipients/{recipient_id}")
async def recipient_save(request: Request, recipient_id: uuid.UUID) -> Response:
    ctx = await console(request)
    values = {"display_name": ctx.value("display_name"), "types": ctx.values("types")}
    try:
        await ctx.api.call("PATCH", f"/notifications/recipients/{recipient_id}", json=values)
    except ApiError as error:
        return await _notifications(ctx, status=error.status, editing=str(recipient_id), edit_values=values,
                                    edit_errors=error.fields or {"types": error.message}, edit_error=error.message)
    return redirect(request, _back("/notifications", "Recipient saved."))


@router.post("/notifications/recipients/{recipient_id}/delete")
async def recipient_delete(request: Request, recipient_id: uuid.UUID) -> Response:
    ctx = await console(request)
    await ctx.api.delete(f"/notifications/recipients/{recipient_id}")
    return redirect(request, _back("/notifications", "Recipient removed."))


@router.post("/notifications/settings")
async def notification_settings(request: Request) -> Response:
    ctx = await console(request)
    try:
        await ctx.api.put("/notifications/settings", {"frequency": ctx.value("frequency"),
                                                      "csv_delivery": ctx.value("csv_delivery")})
    except ApiError as error:
        return await _notifications(ctx, status=error.status, settings_error=error.message)
    return redirect(request, _back("/notifications", "Report settings saved."))


async def _backup_radar(ctx: Console, status: int = 200, **extra: Any) -> Response:
    page = page_number(ctx.request.query_params.get("page"))
    integration = await ctx.api.get("/integrations/backup-radar")
    deliveries = await ctx.api.get("/integrations/backup-radar/deliveries", page=page, page_size=PAGE_SIZE)
    context: dict[str, Any] = {"integration": integration, "deliveries": deliveries, "errors": {},
                               "values": {"url": integration.get("url") or "",
                                          "report_email": integration.get("report_email") or ""},
                               "paging": paging(page, PAGE_SIZE, deliveries["total"]), "query": "",
                               "notice": ctx.request.query_params.get("notice")}
    context.update(extra)
    return ctx.page("backup_radar.html", status=status, **context)


@router.get("/integrations/backup-radar")
async def backup_radar(request: Request) -> Response:
    return await _backup_radar(await console(request))


@router.post("/integrations/backup-radar")
async def backup_radar_save(request: Request) -> Response:
    """The endpoint (URL, CSV report address); ``rotate`` makes a new signing secret, which
    this answer shows once (the page never shows it again)."""
    ctx = await console(request)
    values = {"url": ctx.value("url"), "report_email": ctx.value("report_email")}
    rotate = ctx.value("rotate") == "true"
    body: dict[str, Any] = {"rotate_secret": True} if rotate else {k: v for k, v in values.items() if v}
    try:
        saved = await ctx.api.put("/integrations/backup-radar", body)
    except ApiError as error:
        errors = error.fields or {"url": error.message}
        return await _backup_radar(ctx, status=error.status, values=values, errors=errors, error=error.message)
    if rotate:
        return await _backup_radar(ctx, new_secret=saved.get("secret"),
                                   notice="A new signing secret is in use: copy it now, it is not shown again.")
    return redirect(request, _back("/integrations/backup-radar", "Endpoint saved."))


@router.post("/integrations/backup-radar/test")
async def backup_radar_test(request: Request) -> Response:
    return await _act(request, "POST", "/integrations/backup-radar/test", "/integrations/backup-radar",
                      "Test event queued: its delivery shows below.")


# ---- learning hub ---------------------------------------------------------------------------


PROGRESS_STEPS = (0, 25, 50, 75, 100)


@router.get("/learning")
async def learning(request: Request) -> Response:
    ctx = await console(request)
    search = request.query_params.get("search", "").strip()[:200]
    courses = await ctx.api.get("/learning-hub/courses", search=search or None)
    return ctx.page("learning.html", courses=courses, search=search, notice=request.query_params.get("notice"),
                    steps=PROGRESS_STEPS)


@router.post("/learning/{course_id}/progress")
async def learning_progress(request: Request, course_id: uuid.UUID) -> Response:
    ctx = await console(request)
    try:
        percent = int(ctx.value("percent") or 0)
    except ValueError:
        percent = -1
    try:
        await ctx.api.put(f"/learning-hub/courses/{course_id}/progress", {"percent": percent})
    except ApiError as error:
        return redirect(request, _back("/learning", f"Not saved: {error.message}"))
    return redirect(request, _back("/learning", "Progress saved."))


# ---- smaller actions: cards, users, deliveries, backup tasks ----------------------------------------------


async def _act(request: Request, method: str, path: str, back: str, done: str, body: Any = None,
               ctx: Console | None = None) -> Response:
    """Do one API action and go back to ``back`` with what happened (or why not)."""
    ctx = ctx or await console(request)
    try:
        await ctx.api.call(method, path, json=body if body is not None else ({} if method != "DELETE" else None))
    except ApiError as error:
        return redirect(request, _back(back, f"Not done: {error.message}"))
    return redirect(request, _back(back, done))


@router.post("/billing/cards/add")
async def card_add(request: Request) -> Response:
    """The processor's token (the card form posted it to this page's script), never a card number."""
    ctx = await console(request)
    body = {"token": ctx.value("token"), "activate": ctx.value("activate") == "yes"}
    try:
        card = await ctx.api.post("/billing/cards", body)
    except ApiError as error:
        return redirect(request, _back("/billing/payment", f"Card not saved: {error.message}"))
    return redirect(request, _back("/billing/payment", f"Card saved: {card['brand']} ending {card['last4']}."))


@router.post("/billing/cards/{card_id}/activate")
async def card_activate(request: Request, card_id: uuid.UUID) -> Response:
    return await _act(request, "POST", f"/billing/cards/{card_id}/activate", "/billing/payment", "Card activated.")


@router.post("/billing/cards/{card_id}/delete")
async def card_delete(request: Request, card_id: uuid.UUID) -> Response:
    return await _act(request, "DELETE", f"/billing/cards/{card_id}", "/billing/payment", "Card deleted.")


@router.post("/settings/users/{user_id}/resend")
async def user_resend(request: Request, user_id: uuid.UUID) -> Response:
    return await _act(request, "POST", f"/users/{user_id}/resend-confirmation", "/settings/users",
                      "Confirmation mail sent again.")


@router.post("/settings/users/{user_id}/delete")
async def user_delete(request: Request, user_id: uuid.UUID) -> Response:
    return await _act(request, "DELETE", f"/users/{user_id}", "/settings/users", "User deleted.")


@router.post("/integrations/backup-radar/deliveries/{delivery_id}/replay")
async def delivery_replay(request: Request, delivery_id: uuid.UUID) -> Response:
    return await _act(request, "POST", f"/integrations/backup-radar/deliveries/{delivery_id}/replay",
                      "/integrations/backup-radar", "Delivery sent again.")


@router.post("/accounts/{account_id}/backup-tasks")
async def backup_task_add(request: Request, account_id: uuid.UUID) -> Response:
    ctx = await console(request)
    body = {"service": ctx.value("service"), "name": ctx.value("name")}
    return await _act(request, "POST", f"/accounts/{account_id}/backup-tasks", f"/accounts/{account_id}",
                      "Backup task added; activate it to start backing up.", body, ctx)


@router.post("/accounts/{account_id}/backup-tasks/{task_id}/activate")
async def backup_task_activate(request: Request, account_id: uuid.UUID, task_id: uuid.UUID) -> Response:
    return await _act(request, "POST", f"/accounts/{account_id}/backup-tasks/{task_id}/activate",
                      f"/accounts/{account_id}", "Backup task activated.")
