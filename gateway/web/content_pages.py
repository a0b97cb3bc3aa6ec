"""The operator's published content in the console: Support, Partner Zone and Resources
(read by everyone the menu shows them to), and Settings ▸ Site content (operators edit it).

The content is tenancy's (``GET /api/v1/site-content``); nothing here is hard-wired text.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.vocabulary import TenantKind
from gateway.web.client import ApiError
from gateway.web.menu import PARTNER_ZONE_TIERS
from gateway.web.render import Console, console, redirect

router = APIRouter(include_in_schema=False)

BLANK_ROWS = 2  # empty rows under each list of the editing form, to add entries without JavaScript

# Each repeated section of the form: the API's list, and its form fields → the API's fields.
ROWS: dict[str, dict[str, str]] = {
    "support_phones": {"phone_region": "region", "phone_number": "phone"},
    "support_emails": {"email_purpose": "purpose", "email_address": "email"},
    "partner_zone": {"zone_title": "title", "zone_url": "url", "zone_description": "description"},
    "resources": {"resource_title": "title", "resource_url": "url", "resource_description": "description"},
}
SECTION_NAMES = {"support_phones": "Support phones", "support_emails": "Support emails",
                 "support_hours": "Support hours", "partner_zone": "Partner Zone", "resources": "Resources"}
FIELD_NAMES = {"region": "region", "phone": "number", "purpose": "what for", "email": "email", "title": "title",
               "url": "address", "description": "description"}


def can_open_partner_zone(ctx: Console) -> bool:
    return ctx.tier in PARTNER_ZONE_TIERS


@router.get("/support")
async def support(request: Request) -> Response:
    ctx = await console(request)
    ctx.require(ctx.can_open_support)
    return ctx.page("support.html", content=await ctx.api.get("/site-content"))


@router.get("/partner-zone")
async def partner_zone(request: Request) -> Response:
    ctx = await console(request)
    ctx.require(can_open_partner_zone(ctx))
    return ctx.page("partner_zone.html", content=await ctx.api.get("/site-content"))


@router.get("/resources")
async def resources(request: Request) -> Response:
    ctx = await console(request)
    return ctx.page("resources.html", content=await ctx.api.get("/site-content"))


# ---- Settings ▸ Site content (operators) ------------------------------------------------------------


def _editable(content: dict[str, Any]) -> dict[str, Any]:
    """The content with blank rows under each list, as the form shows it."""
    shown = dict(content)
    for section in ROWS:
        shown[section] = [*content.get(section, []), *({} for _ in range(BLANK_ROWS))]
    return shown


def _from_form(ctx: Console) -> dict[str, Any]:
    """The form's rows as the API's document; a row left empty is dropped."""
    document: dict[str, Any] = {"support_hours": ctx.value("support_hours") or None}
    for section, fields in ROWS.items():
        columns = {api: [value.strip() for value in ctx.form.get(form, [])] for form, api in fields.items()}
        count = max((len(values) for values in columns.values()), default=0)
        rows = []
        for index in range(count):
            row: dict[str, str | None] = {api: values[index] if index < len(values) else ""
                                          for api, values in columns.items()}
            if any(row.values()):
                if "description" in row:
                    row["description"] = row["description"] or None  # optional: empty is none
                rows.append(row)
        document[section] = rows
    return document


def plain_reason(field: str, reason: str) -> str:
    """``partner_zone.1.url`` → "Partner Zone, row 2, address: …" (the form has no field per path)."""
    match = re.fullmatch(r"(\w+)(?:\.(\d+))?(?:\.(\w+))?", field)
    if match is None or match.group(1) not in SECTION_NAMES:
        return f"{field}: {reason}"
    parts = [SECTION_NAMES[match.group(1)]]
    if match.group(2) is not None:
        parts.append(f"row {int(match.group(2)) + 1}")
    if match.group(3):
        parts.append(FIELD_NAMES.get(match.group(3), match.group(3)))
    return f"{', '.join(parts)}: {reason}"


@router.get("/settings/site-content")
async def site_content(request: Request) -> Response:
    ctx = await console(request)
    ctx.require(ctx.tier == TenantKind.OPERATOR)
    content = await ctx.api.get("/site-content")
    return ctx.page("site_content.html", content=_editable(content), version=content["version"],
                    problems=[], notice=request.query_params.get("notice"))


@router.post("/settings/site-content")
async def site_content_save(request: Request) -> Response:
    ctx = await console(request)
    ctx.require(ctx.tier == TenantKind.OPERATOR)
    document = _from_form(ctx)
    try:
        saved = await ctx.api.put("/operator/site-content", document)
    except ApiError as error:
        problems = [plain_reason(name, reason) for name, reason in error.fields.items()] or [error.message]
        return ctx.page("site_content.html", status=error.status, content=_editable(document), version=None,
                        problems=problems, error=error.message)
    notice = urlencode({"notice": f"Published: version {saved['version']}."})
    return redirect(request, f"/settings/site-content?{notice}")
