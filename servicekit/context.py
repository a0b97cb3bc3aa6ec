"""The caller context of a worker: who called, and the correlation id of the request.

It arrives as nameko context data (message headers ``nameko.caller`` and
``nameko.correlation_id``), travels on to every RPC call the worker makes, and is bound
into structlog's contextvars so every log line of the worker carries it.
"""

from __future__ import annotations

import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

import structlog
from nameko.extensions import DependencyProvider
from pydantic import ValidationError

from contracts.context import CALLER_KEY, CORRELATION_ID_KEY, Caller
from contracts.errors import PortalError

log = structlog.stdlib.get_logger("servicekit.calls")

SYSTEM_CALLER = Caller(is_system=True)

# Context data the kit's RPC entrypoint sets (never a caller) when the request message is a
# redelivery: the instance that took it first died or lost its connection before answering.
REDELIVERED_KEY = "redelivered"


@dataclass(frozen=True)
class CallContext:
    service: str
    caller: Caller
    correlation_id: str
    redelivered: bool = False

    @property
    def tenant_id(self) -> uuid.UUID | None:
        return self.caller.tenant_id


def context_from_data(service: str, data: dict[str, Any]) -> CallContext:
    """Read the call context out of nameko context data; unknown callers are anonymous.

    A worker without a correlation id gets a new one, stored back into ``data``.
    """
    raw_caller = data.get(CALLER_KEY)
    caller = Caller()
    if isinstance(raw_caller, dict):
        try:
            caller = Caller.from_wire(raw_caller)
        except ValidationError:
            caller = Caller()
    correlation_id = data.get(CORRELATION_ID_KEY)
    if not isinstance(correlation_id, str) or not correlation_id:
        correlation_id = str(uuid.uuid4())
        # Written back so nested RPC calls and events from this worker carry the same id.
        data[CORRELATION_ID_KEY] = correlation_id
    return CallContext(service=service, caller=caller, correlation_id=correlation_id,
                       redelivered=data.get(REDELIVERED_KEY) is True)


def bind_log_context(ctx: CallContext) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        service=ctx.service,
        correlation_id=ctx.correlation_id,
        tenant_id=str(ctx.caller.tenant_id) if ctx.caller.tenant_id else None,
        user_id=str(ctx.caller.user_id) if ctx.caller.user_id else None,
    )


class CallContextProvider(DependencyProvider):
    """Injects the :class:`CallContext`; binds it for logging; logs one line per worker."""

    def __init__(self) -> None:
        self._started: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx: Any) -> CallContext:
        return context_from_data(self.container.service_name, worker_ctx.data)

    def worker_setup(self, worker_ctx: Any) -> None:
        bind_log_context(context_from_data(self.container.service_name, worker_ctx.data))
        # Read by every dependency when it was injected; the worker's own calls are not redeliveries.
        worker_ctx.data.pop(REDELIVERED_KEY, None)
        self._started[worker_ctx] = time.monotonic()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx, None)
        duration_ms = round((time.monotonic() - started) * 1000, 2) if started else None
        entrypoint = worker_ctx.entrypoint
        outcome = "ok"
        error = None
        if exc_info is not None:
            exc = exc_info[1]
            error = getattr(exc, "code", type(exc).__name__)
            outcome = "refused" if isinstance(exc, PortalError) else "error"
        # One line per handled call: the trace of a request through the services.
        log.info(
            "handled",
            entrypoint=f"{type(entrypoint).__name__.lower()}:{entrypoint.method_name}",
            outcome=outcome,
            error=error,
            duration_ms=duration_ms,
        )

    def worker_teardown(self, worker_ctx: Any) -> None:
        structlog.contextvars.clear_contextvars()
