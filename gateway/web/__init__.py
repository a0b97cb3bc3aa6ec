"""The web console: server-rendered pages (Jinja2, htmx) over the gateway's own API.

``mount_console(app)`` serves it at ``/`` next to ``/api/v1``; see docs/console.md.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from gateway.web import content_pages, mail_links, pages, sso_views, views
from gateway.web.client import ApiError
from gateway.web.render import STATIC_DIR, Redirect, redirect, render, sign_in_url


async def _redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return redirect(request, exc.url)


async def _api_error(request: Request, exc: Exception) -> Response:
    """An API refusal that a page did not handle itself: an error page, never a trace."""
    assert isinstance(exc, ApiError)
    if exc.code == "access_denied":
        return render(request, "access_denied.html", {"your_ip": request.state.caller.ip}, status=403)
    if exc.status == 401:
        return redirect(request, sign_in_url(request))
    context = {"error": exc, "correlation_id": getattr(request.state, "correlation_id", None)}
    return render(request, "error.html", context, status=exc.status if 400 <= exc.status < 600 else 500)


def mount_console(app: FastAPI) -> None:
    # httpx logs every in-process call with its query string; the access log has them already.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(views.router)
    app.include_router(sso_views.router)
    app.include_router(pages.router)
    app.include_router(content_pages.router)
    app.include_router(mail_links.router)
    app.add_exception_handler(Redirect, _redirect)
    app.add_exception_handler(ApiError, _api_error)
