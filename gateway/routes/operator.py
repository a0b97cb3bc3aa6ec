"""What the vendor's operators do ("contact Support"): engine keys, distributors."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.identity import EngineKeyCreated, EngineKeyRequest
from gateway.auth import Operator
from gateway.deps import Rpc

router = APIRouter(prefix="/operator", tags=["operator"])


@router.post(
    "/engine-keys",
    response_model=EngineKeyCreated,
    status_code=201,
    summary="Issue an API key for the backup engine's ingest calls (the key is shown once)",
)
def create_engine_key(body: EngineKeyRequest, operator: Operator, rpc: Rpc) -> EngineKeyCreated:
    return rpc.identity.create_engine_key(body.to_wire())
