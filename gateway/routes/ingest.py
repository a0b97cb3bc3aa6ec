"""The backup engine reports runs (API key an operator issued; POST /operator/engine-keys)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from contracts.tenancy import MAX_INGEST_BATCH, BackupRunReport, IngestReply
from gateway.auth import Engine
from gateway.deps import Rpc

router = APIRouter(prefix="/ingest", tags=["ingest"])
INGEST_TIMEOUT_SECONDS = 30.0


async def sent_json(request: Request) -> Any:
    """The body as the engine sent it, already parsed for the validation of ``runs`` (Starlette
    keeps it): forwarded as it is instead of dumping every validated run again. Tenancy
    validates it with the same contract, so what passed here passes there alike."""
    try:
        return await request.json()
    except ValueError:  # no JSON: the validation of ``runs`` answers 422 and the route never runs
        return None


@router.post(
    "/backup-runs",
    response_model=IngestReply,
    summary="Report backup runs; idempotent on run_id, any order",
    description=(
        f"Up to {MAX_INGEST_BATCH} runs a call. A run already recorded counts as a duplicate; a run of an "
        "unknown task is rejected on its own (`rejected`), the others are recorded. `size_bytes` is the "
        "task's stored size after the run; the newest run of a task (by `finished_at`) sets its status."
    ),
)
def ingest_backup_runs(
    runs: Annotated[list[BackupRunReport], Body(max_length=MAX_INGEST_BATCH)], engine: Engine, rpc: Rpc,
    sent: Annotated[Any, Depends(sent_json)],
) -> IngestReply:
    # A batch of up to a thousand runs may queue behind others for the same owners' roll-ups:
    # a longer deadline than a page's, and a retry of the same batch is harmless (run_id).
    return rpc.tenancy.ingest_backup_runs(sent, timeout=INGEST_TIMEOUT_SECONDS)
