"""The console's client of the gateway's own HTTP API, called in-process.

Every console page is built from the public API (``/api/v1``) answered by the very same
app, through ASGI and without a socket: authentication, permissions, validation, error
mapping and composition stay in one place, and the console cannot do anything an API
client could not. The session token travels as a bearer token; the inner request gets
the outer request's client address (its IP restrictions apply unchanged), user agent
and correlation id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from fastapi import Request

from gateway.middleware import CORRELATION_HEADER

API = "/api/v1"


@dataclass
class ApiError(Exception):
    """An error answer of the API: status, stable code, message and the fields it names."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, str]:
        """field → reason, for showing each error next to its field."""
        found: dict[str, str] = {}
        for item in self.details.get("fields") or []:
            if isinstance(item, dict) and item.get("field"):
                name = str(item["field"]).removeprefix("query.").removeprefix("body.")
                found.setdefault(name, str(item.get("reason") or "is not valid"))
        return found


class ApiClient:
    def __init__(self, request: Request, token: str | None) -> None:
        self.request = request
        self.token = token
        caller = getattr(request.state, "caller", None)
        self.client_ip = (caller.ip if caller is not None else None) or "127.0.0.1"

    def _headers(self) -> dict[str, str]:
        headers = {CORRELATION_HEADER: getattr(self.request.state, "correlation_id", "") or "",
                   "Accept": "application/json"}
        user_agent = self.request.headers.get("user-agent")
        if user_agent:
            headers["User-Agent"] = user_agent
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json: Any = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.request.app, raise_app_exceptions=False,
                                        client=(self.client_ip, 0))
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "", [])}
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://console.internal") as client:
                return await client.request(method, API + path, params=clean, json=json,
                                            headers=self._headers())
        finally:
            # The inner request's middleware cleared this request's log context: bind it again.
            structlog.contextvars.bind_contextvars(
                service="gateway", correlation_id=getattr(self.request.state, "correlation_id", None))

    async def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json: Any = None) -> Any:
        """The JSON answer, or :class:`ApiError` (or ``None`` for 204)."""
        response = await self.send(method, path, params=params, json=json)
        if response.status_code >= 400:
            raise error_of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.call("POST", path, json=body if body is not None else {})

    async def put(self, path: str, body: Any) -> Any:
        return await self.call("PUT", path, json=body)

    async def delete(self, path: str, body: Any = None) -> Any:
        return await self.call("DELETE", path, json=body)


def error_of(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, str(error["code"]), str(error["message"]), error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "error", "the request failed")
