"""The hosted card form: ``GET /card-form?origin=`` shows it, ``POST /card-form`` tokenises the card.

The console frames this page (only the origins in ``PROCESSOR_ALLOWED_ORIGINS`` may: the
``frame-ancestors`` policy), and the answer page hands the token to the console with
``postMessage`` addressed to that origin alone. The card number is checked, turned into a
token and forgotten: it is in no log (there is no access log) and in no store.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from testprocessor.cards import check_entry
from testprocessor.settings import ProcessorSettings
from testprocessor.store import ProcessorStore

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(default=True))
MAX_FORM_BYTES = 4096


def create_app(settings: ProcessorSettings | None = None) -> Starlette:
    settings = settings or ProcessorSettings()
    store = ProcessorStore(settings.store_path())
    allowed = set(settings.allowed_origins)

    def page(context: dict[str, Any], origin: str | None, status: int = 200) -> Response:
        nonce = secrets.token_urlsafe(16)
        html = TEMPLATES.get_template("card_form.html").render(nonce=nonce, origin=origin, **context)
        ancestors = origin or "'none'"
        return HTMLResponse(html, status_code=status, headers={
            "Content-Security-Policy": (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
                                        f"form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'"),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        })

    def console_origin(value: str | None) -> str | None:
        origin = (value or "").rstrip("/")
        return origin if origin in allowed else None

    async def card_form(request: Request) -> Response:
        origin = console_origin(request.query_params.get("origin"))
        if origin is None:
            return page({"refused": True}, None, status=400)
        return page({"values": {}, "errors": {}}, origin)

    async def tokenise(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return page({"refused": True}, None, status=413)
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        origin = console_origin(form.get("origin"))
        if origin is None:
            return page({"refused": True}, None, status=400)
        entry, errors = check_entry(form.get("number", ""), form.get("expiry", ""), form.get("cvc", ""),
                                    form.get("name", ""), datetime.now(UTC).date())
        # The number and the security code are never sent back: a refused card is typed again.
        kept = {"expiry": form.get("expiry", ""), "name": form.get("name", "")}
        if entry is None:
            return page({"values": kept, "errors": errors}, origin, status=422)
        if entry.profile.save_failure:
            return page({"values": kept, "errors": {"number": entry.profile.save_failure[1]}}, origin, status=422)
        token = store.tokenise(entry)
        return page({"token": token, "brand": entry.profile.brand, "last4": entry.last4}, origin)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/card-form", card_form, methods=["GET"]),
        Route("/card-form", tokenise, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
    ])
