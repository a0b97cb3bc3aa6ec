"""FastAPI dependencies shared by the routes: settings, and RPC bound to the request.

    from gateway.deps import Rpc

    @router.get("/things")
    def list_things(rpc: Rpc) -> ...:           # plain def: runs in the thread pool
        return rpc.tenancy.list_things(query.to_wire())
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from contracts.context import Caller
from gateway.clients.audit import AuditClient
from gateway.clients.billing import BillingClient
from gateway.clients.identity import IdentityClient
from gateway.clients.notify import NotifyClient
from gateway.clients.tenancy import TenancyClient
from gateway.rpc import Call, CallResult, CallSpec, RequestContext, RpcClient
from gateway.settings import GatewaySettings


class RequestRpc:
    """The app's RPC client, sending this request's correlation id and caller.

    The context is read at call time, so an authentication dependency that replaces
    ``request.state.caller`` (user, tenant) is seen by every later call.
    """

    def __init__(self, client: RpcClient, request: Request) -> None:
        self.client = client
        self.request = request

    @property
    def context(self) -> RequestContext:
        state = self.request.state
        return RequestContext(state.correlation_id, getattr(state, "caller", None) or Caller())

    def call(self, service: str, method: str, *args: Any, timeout: float | None = None,
             **kwargs: Any) -> Any:
        return self.client.call(service, method, *args, context=self.context, timeout=timeout,
                                **kwargs)

    def call_many(self, calls: Mapping[str, CallSpec], *, timeout: float | None = None
                  ) -> dict[str, CallResult]:
        """Several calls at once (each from a client's ``fan_out``), answered before one deadline."""
        return self.client.call_many(calls, context=self.context, timeout=timeout)

    def attempt(self, call: Call, *, timeout: float | None = None) -> CallResult:
        """One call whose failure is returned rather than raised: the caller decides whether
        to degrade (a composed page without one service's columns) or to fail."""
        return self.call_many({call.service: call}, timeout=timeout)[call.service]

    # The typed clients: ``rpc.tenancy.list_partners(query)``.

    @cached_property
    def identity(self) -> IdentityClient:
        return IdentityClient(self)

    @cached_property
    def tenancy(self) -> TenancyClient:
        return TenancyClient(self)

    @cached_property
    def billing(self) -> BillingClient:
        return BillingClient(self)

    @cached_property
    def audit(self) -> AuditClient:
        return AuditClient(self)

    @cached_property
    def notify(self) -> NotifyClient:
        return NotifyClient(self)


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


async def get_rpc(request: Request) -> RequestRpc:
    return RequestRpc(request.app.state.rpc_client, request)


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Rpc = Annotated[RequestRpc, Depends(get_rpc)]


# A create with this header may be retried safely: the same key with the same body gives
# the first answer again (docs/http-api.md, "Retrying a create").
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=255,
           description="Any unique value (a UUID, say) to retry this create safely for 24 hours: "
                       "the same key with the same body answers the first answer again and creates "
                       "nothing; with another body, 422 `idempotency_key_reused`."),
]
