"""FastAPI dependencies shared by the routes: settings, and RPC bound to the request.

    from gateway.deps import Rpc

    @router.get("/things")
    def list_things(rpc: Rpc) -> ...:           # plain def: runs in the thread pool
        return rpc.call("tenancy", "list_things", query.to_wire())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from contracts.context import Caller
from gateway.rpc import CallContext, CallResult, CallSpec, RpcClient
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
    def context(self) -> CallContext:
        state = self.request.state
        return CallContext(state.correlation_id, getattr(state, "caller", None) or Caller())

    def call(self, service: str, method: str, *args: Any, timeout: float | None = None,
             **kwargs: Any) -> Any:
        return self.client.call(service, method, *args, context=self.context, timeout=timeout,
                                **kwargs)

    def call_many(self, calls: Mapping[str, CallSpec], *, timeout: float | None = None
                  ) -> dict[str, CallResult]:
        return self.client.call_many(calls, context=self.context, timeout=timeout)


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


async def get_rpc(request: Request) -> RequestRpc:
    return RequestRpc(request.app.state.rpc_client, request)


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Rpc = Annotated[RequestRpc, Depends(get_rpc)]


def keyed(idempotency_key: str | None) -> dict[str, Any]:
    """The RPC keyword that makes a create idempotent (servicekit.request_keys), if any."""
    return {"idempotency_key": idempotency_key} if idempotency_key is not None else {}


# A create with this header may be retried safely: the same key with the same body gives
# the first answer again (docs/http-api.md, "Retrying a create").
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=255,
           description="Any unique value (a UUID, say) to retry this create safely for 24 hours: "
                       "the same key with the same body answers the first answer again and creates "
                       "nothing; with another body, 422 `idempotency_key_reused`."),
]
