"""``GET /dashboard``: one row per partner plus the Direct Accounts row, composed by
:mod:`gateway.compose.dashboard` from tenancy's rows (billing's columns included)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from contracts.billing import RollupStatus
from contracts.identity import Principal
from contracts.tenancy import TaskStatus
from contracts.vocabulary import Permission
from gateway.auth import require_permission
from gateway.compose.dashboard import DashboardPage, DashboardSort, dashboard_page
from gateway.deps import Rpc

router = APIRouter(tags=["dashboard"])
can_view = Depends(require_permission(Permission.VIEW_DASHBOARD))


@router.get(
    "/dashboard",
    response_model=DashboardPage,
    summary="Partner rows plus the Direct Accounts row: size, amount, task and billing status",
    responses={
        403: {"description": "`permission_denied`: billing_status or an amount sort without 'view_billing'"},
        503: {"description": "tenancy did not answer (billing being away changes nothing: tenancy keeps its "
                             "announced facts)"},
    },
)
def dashboard(
    rpc: Rpc,
    principal: Annotated[Principal, can_view],
    search: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    task_status: TaskStatus | None = None,
    billing_status: RollupStatus | None = None,
    sort: DashboardSort = "name",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
    distributor_id: Annotated[uuid.UUID | None, Query(description="operators: whose dashboard")] = None,
) -> DashboardPage:
    return dashboard_page(rpc, principal, search=search, task_status=task_status, billing_status=billing_status,
                          sort=sort, page=page, page_size=page_size, distributor_id=distributor_id)
