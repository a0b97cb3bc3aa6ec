"""``GET /healthz``: the gateway and each service, asked in parallel, in under 2 s."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from nameko.exceptions import RemoteError
from pydantic import BaseModel, Field, ValidationError

from contracts.errors import PortalError, ServiceUnavailable
from contracts.events import SERVICES
from contracts.health import HealthReply
from gateway.deps import Rpc, Settings
from gateway.rpc import CallResult

router = APIRouter(tags=["health"])


class ServiceHealth(BaseModel):
    status: Literal["ok", "degraded", "down"]
    database: str | None = Field(default=None, description="database dialect that answered")
    schema_revision: str | None = None
    outbox_backlog: int | None = Field(default=None, description="events not yet published")
    reason: str | None = Field(default=None, description="why the service counts as down")


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"] = Field(description='"ok" when every service is ok')
    gateway: Literal["ok"] = "ok"
    services: dict[str, ServiceHealth]


def service_health(result: CallResult) -> ServiceHealth:
    error = result.error
    if error is None:
        try:
            reply = HealthReply.from_wire(result.value)
        except ValidationError:
            return ServiceHealth(status="down", reason="invalid health reply")
        return ServiceHealth(
            status="ok" if reply.status == "ok" else "degraded",
            database=reply.database,
            schema_revision=reply.schema_revision,
            outbox_backlog=reply.outbox_backlog,
        )
    if isinstance(error, ServiceUnavailable):
        reason = str(error.details.get("reason") or error.message)
    elif isinstance(error, PortalError):
        reason = f"refused: {error.code}"
    elif isinstance(error, RemoteError):
        reason = f"error: {error.exc_type}"
    else:
        reason = f"error: {type(error).__name__}"
    return ServiceHealth(status="down", reason=reason)


@router.get(
    "/healthz",
    response_model=HealthResponse,
    response_model_exclude_none=True,
    summary="Liveness of the gateway and of each service",
    description=(
        "No authentication. Every service is asked for its health in parallel, each with "
        "a deadline of `GATEWAY_HEALTH_TIMEOUT_SECONDS` (1.5 s), so the answer comes within "
        "2 s even when a service is down.\n\n"
        "**200** when no service is down (`status` is `degraded` when one reports itself "
        "degraded); **503** with the same body when any service is down, its entry saying "
        "why (`reason`)."
    ),
    responses={503: {"model": HealthResponse, "description": "at least one service is down"}},
)
def healthz(response: Response, rpc: Rpc, settings: Settings) -> HealthResponse:
    clients = (rpc.identity, rpc.tenancy, rpc.billing, rpc.audit, rpc.notify)
    results = rpc.call_many({client.service: client.health_call() for client in clients},
                            timeout=settings.health_timeout_seconds)
    services = {service: service_health(results[service]) for service in SERVICES}
    statuses = {health.status for health in services.values()}
    response.status_code = 503 if "down" in statuses else 200
    return HealthResponse(status="ok" if statuses == {"ok"} else "degraded", services=services)
