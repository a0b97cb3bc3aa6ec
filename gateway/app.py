"""The HTTP gateway: authenticates, authorises and composes; owns no data.

``create_app()`` builds it (tests pass settings and a fake RPC client factory);
``app`` is the module-level instance that uvicorn serves (``python -m gateway``),
created when first asked for.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from gateway import asyncapi, metrics
from gateway.auth import SessionCache
from gateway.errors import ErrorResponse, install_error_handlers
from gateway.limits import BodyLimitMiddleware
from gateway.metrics import MetricsMiddleware
from gateway.middleware import RequestContextMiddleware
from gateway.revocations import RevocationFeed
from gateway.routes import API_PREFIX, API_ROUTERS, health
from gateway.rpc import NamekoRpcClient, RpcClient
from gateway.settings import GatewaySettings
from gateway.tracing import instrument_tracing
from gateway.web import mount_console
from servicekit.logging import configure_logging
from servicekit.settings import KitSettings
from servicekit.tracing import configure_tracing

TITLE = "Backup Reseller Portal API"
DESCRIPTION = (
    "The public HTTP API of the backup reseller portal (v1). JSON over HTTP; "
    "authenticate with `Authorization: Bearer <token>` from sign-in. Every error answers "
    '`{"error": {"code", "message", "details"}}`; every response carries '
    "`X-Correlation-ID` (yours when you send a sane one, else a new one)."
)

RpcClientFactory = Callable[[GatewaySettings], RpcClient]
RevocationFeedFactory = Callable[[GatewaySettings, SessionCache], RevocationFeed]


def identity_revocation_feed(settings: GatewaySettings, cache: SessionCache) -> RevocationFeed:
    return RevocationFeed(settings.amqp_uri, cache, connect_timeout=settings.amqp_connect_timeout_seconds)


def nameko_rpc_client(settings: GatewaySettings) -> RpcClient:
    return NamekoRpcClient(
        settings.amqp_uri,
        default_timeout=settings.rpc_timeout_seconds,
        connect_timeout=settings.amqp_connect_timeout_seconds,
    )


class _DropClosingChannelNoise(logging.Filter):
    """py-amqp warns when a publish to a service that never started closes the channel."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "during closing channel" not in str(record.msg)


def create_app(
    settings: GatewaySettings | None = None,
    rpc_client_factory: RpcClientFactory | None = None,
    revocation_feed_factory: RevocationFeedFactory | None = None,
) -> FastAPI:
    """``revocation_feed_factory``: defaults to identity's feed with the real RPC client, and
    to none with a test's (a test passes one to have it)."""
    settings = settings or GatewaySettings()
    kit = KitSettings()
    configure_logging("gateway", level=kit.log_level, fmt=kit.log_format)
    logging.getLogger("amqp").addFilter(_DropClosingChannelNoise())
    rpc_client = (rpc_client_factory or nameko_rpc_client)(settings)
    session_cache = SessionCache()
    if revocation_feed_factory is None and rpc_client_factory is None:
        revocation_feed_factory = identity_revocation_feed
    feed = revocation_feed_factory(settings, session_cache) if revocation_feed_factory else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if feed is not None:
            feed.start()
        yield
        if feed is not None:
            feed.stop()
        rpc_client.close()

    app = FastAPI(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
        responses={"default": {"model": ErrorResponse, "description": "an error"}},
    )
    app.state.settings = settings
    app.state.rpc_client = rpc_client
    app.state.session_cache = session_cache
    app.state.revocation_feed = feed
    install_error_handlers(app)
    # Added first, so it runs inside RequestContextMiddleware: its refusals get the access log.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_json_depth=settings.max_json_depth,
                       path_limits={f"{API_PREFIX}/ingest/backup-runs": settings.max_ingest_body_bytes})
    app.add_middleware(RequestContextMiddleware, trusted_proxies=settings.trusted_proxies)
    app.add_middleware(MetricsMiddleware)  # outermost: it times the whole answer, refusals included
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(asyncapi.router)  # /asyncapi.json, beside /openapi.json
    api = APIRouter(prefix=API_PREFIX)
    for router in API_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    mount_console(app)  # the web console at / (gateway/web), over the API above
    if configure_tracing("gateway"):
        instrument_tracing(app)
    return app


def __getattr__(name: str) -> FastAPI:
    """``gateway.app:app``, built on first use: importing ``create_app`` (tests) neither
    reads the environment nor reconfigures logging."""
    if name == "app":
        instance = create_app()
        globals()["app"] = instance
        return instance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
