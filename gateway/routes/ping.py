"""``GET /ping``: one authenticated no-op RPC — what any route pays before doing real work.

The benchmarks (``make bench``) measure it beside the dashboard, so each figure reads as a
ratio to what the gateway, the session check and one broker round trip allow.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.auth import Authorised
from gateway.deps import Rpc

router = APIRouter(tags=["health"])


class Pong(BaseModel):
    pong: bool = True


@router.get("/ping", response_model=Pong, summary="One no-op RPC to tenancy, signed in (the messaging ceiling)")
def ping(principal: Authorised, rpc: Rpc) -> Pong:
    rpc.tenancy.ping()
    return Pong()
