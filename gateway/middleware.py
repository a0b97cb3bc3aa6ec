"""Per-request context: correlation id, the caller's address, one access log line.

A pure ASGI middleware (no BaseHTTPMiddleware): the structlog contextvars it binds are
copied into the thread that runs a plain ``def`` endpoint, so every log line of the
request carries ``service="gateway"`` and the ``correlation_id``.
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.context import Caller
from gateway.errors import internal_error_response
from gateway.settings import IPNetwork

CORRELATION_HEADER = "X-Correlation-ID"
SANE_CORRELATION_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_USER_AGENT = 512

access_log = structlog.stdlib.get_logger("gateway.access")


def correlation_id_from(value: str | None) -> str:
    """The caller's correlation id when it is a sane token, else a new UUID."""
    if value is not None and SANE_CORRELATION_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: Any, networks: Iterable[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]) -> str | None:
    """The socket peer, unless it is a trusted proxy: then the nearest untrusted hop of
    ``X-Forwarded-For`` (read from the right; what lies left of it is the client's say)."""
    address = _parse_ip(peer) if peer else None
    if not forwarded_for or not _trusted(address, trusted):
        return peer
    candidate = peer
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _parse_ip(hop)
        if hop_address is None:
            break  # junk: keep the last hop a trusted proxy vouched for
        candidate = str(hop_address)
        if not _trusted(hop_address, trusted):
            break
    return candidate


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: tuple[IPNetwork, ...] = ()) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = correlation_id_from(headers.get(CORRELATION_HEADER))
        peer = scope["client"][0] if scope.get("client") else None
        ip = client_ip(peer, ",".join(headers.getlist("x-forwarded-for")), self.trusted_proxies)
        user_agent = headers.get("user-agent")
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        state["caller"] = Caller(ip=ip, user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service="gateway", correlation_id=correlation_id)

        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_header(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        except Exception as exc:
            if response_started:
                raise
            response = internal_error_response(correlation_id, exc)
            await response(scope, receive, send_with_header)
        finally:
            # Path only: query strings may carry tokens; headers are never logged.
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                client_ip=ip,
            )
            structlog.contextvars.clear_contextvars()
