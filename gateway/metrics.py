"""The gateway's Prometheus metrics: HTTP requests by route template and status, and the
RPC calls it makes, served at ``GET /metrics`` (the ``prometheus_client`` library).

The route label is the matched template (``/api/v1/accounts/{account_id}``), never the
path itself: ids and search text stay out of labels. A path that matches no route is
counted as ``unmatched``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.metrics import LATENCY_BUCKETS, outcome_of_error

HTTP_REQUESTS = Counter("portal_http_requests", "HTTP requests the gateway answered, by route template and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("portal_http_request_duration_seconds", "Time the gateway took to answer, by route template",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
GATEWAY_RPC_CALLS = Counter("portal_gateway_rpc_calls", "RPC calls the gateway made, by service, method and outcome "
                            "(ok, a boundary error's code, unavailable)", ["service", "method", "outcome"])
GATEWAY_RPC_LATENCY = Histogram("portal_gateway_rpc_duration_seconds", "Time from sending an RPC to its answer, "
                                "as the gateway saw it", ["service", "method"], buckets=LATENCY_BUCKETS)
UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Every family of this process in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's template with its routers' prefix: ``/api/v1/accounts/{account_id}``.

    An included router's route knows only its own part (``/accounts/{account_id}``); the
    prefix is the fixed start of the path that the route's part does not cover.
    """
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str) or not template.startswith("/"):
        return UNMATCHED
    if ":path}" in template:  # a catch-all part spans any number of segments
        return template
    parts = str(scope.get("path", "")).split("/")
    prefix = "/".join(parts[: max(len(parts) - template.count("/"), 0)])
    return prefix + template


class MetricsMiddleware:
    """Times each HTTP request and counts it by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered 500 further out

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_template(scope)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def record_rpc(service: str, method: str, error: BaseException | None, seconds: float) -> None:
    """One RPC the gateway made: ``error`` is its result's (None when it answered)."""
    GATEWAY_RPC_CALLS.labels(service, method, outcome_of_error(error)).inc()
    GATEWAY_RPC_LATENCY.labels(service, method).observe(seconds)
