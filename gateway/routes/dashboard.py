"""``GET /dashboard``: one row per partner plus the Direct Accounts row, composed.

Tenancy owns the rows, sizes and task statuses; billing owns amounts and billing
statuses. Each filter and sort is applied by the service that owns the attribute:

- name/size order, search, task status: tenancy pages; billing then answers the amounts
  of that page's partners;
- a billing-status filter: billing names the matching partners first, tenancy pages them;
- amount order: tenancy names every partner matching its search and filters (ids only),
  billing orders those by amount (and applies a billing-status filter) and pages them,
  tenancy answers the rows of that page.

Billing being down costs the billing columns (``billing_available: false``), not the page
(an amount sort falls back to name order); a billing-status filter cannot be answered
without billing (503). Tenancy being down is a 503.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from contracts.billing import MAX_CANDIDATES, OwnerAmountPage, OwnerRollup, RollupStatus
from contracts.errors import PermissionDenied, PortalError, ServiceUnavailable, ValidationFailed
from contracts.identity import Principal
from contracts.tenancy import IdList, PartnerPage, PartnerRow, TaskStatus
from gateway.auth import is_administrator, require_permission
from gateway.deps import Rpc
from servicekit.logging import get_logger

log = get_logger(__name__)
router = APIRouter(tags=["dashboard"])
can_view = Depends(require_permission("view_dashboard"))

AMOUNT_SORTS = ("amount", "-amount")
DashboardSort = Literal["name", "-name", "size", "-size", "amount", "-amount"]
VIEW_BILLING = "view_billing"

T = TypeVar("T")


# ---- shared by the composed lists (dashboard, drill-downs, billing status) -------------------------------


def sees_money(principal: Principal, distributor_id: uuid.UUID | None = None) -> bool:
    """Distributor users with "view billing" see amounts and billing statuses; operators too,
    once they name the distributor (billing is per distributor). Partners and customers never."""
    user = principal.user
    if user.tenant_kind not in ("distributor", "operator"):
        return False
    if user.tenant_kind == "operator" and distributor_id is None:
        return False
    return is_administrator(principal) or VIEW_BILLING in user.permissions


def refuse_billing_terms(money: bool, billing_status: Any, sort: str) -> None:
    """Filtering or sorting by billing's attributes is for callers who see money."""
    if money:
        return
    if billing_status is not None:
        raise PermissionDenied(f"billing_status: filtering by billing status needs the '{VIEW_BILLING}' permission")
    if sort in AMOUNT_SORTS:
        raise PermissionDenied(f"sort: sorting by amount needs the '{VIEW_BILLING}' permission")


def billing_scope_args(distributor_id: uuid.UUID | None) -> dict[str, Any]:
    return {"distributor_id": str(distributor_id)} if distributor_id is not None else {}


def call_billing(rpc: Rpc, method: str, request: dict[str, Any]) -> tuple[Any, bool]:
    """A billing call whose absence only blanks billing's columns: (value, True) or (None, False).

    Billing down, late or failing degrades; a refusal of the request itself (a 4xx:
    bad input, no permission) is the caller's answer and is raised.
    """
    result = rpc.call_many({"billing": (method, request)})["billing"]
    if result.error is None:
        return result.value, True
    if isinstance(result.error, PortalError) and 400 <= result.error.status < 500:
        raise result.error
    log.warning("composed without billing columns", method=method, error=type(result.error).__name__)
    return None, False


def billing_order(rpc: Rpc, method: str, request: dict[str, Any], filtering: bool) -> Any | None:
    """Billing's ordered page (None when billing is away: the caller falls back to name order);
    a billing-status filter cannot be answered without billing: 503."""
    answer, available = call_billing(rpc, method, request)
    if not available and filtering:
        raise ServiceUnavailable("billing did not answer: the billing status filter needs it", {"service": "billing"})
    return answer if available else None


def check_candidates(candidates: IdList, what: str) -> None:
    if candidates.total > MAX_CANDIDATES:
        raise ValidationFailed.for_field(
            "sort", f"sorting by amount takes at most {MAX_CANDIDATES} matching {what}: narrow with a search or filter")


def in_order(ids: Iterable[uuid.UUID], rows: Iterable[T], key: Any) -> list[T]:
    """``rows`` in the order of ``ids`` (billing's order); rows of ids tenancy no longer has drop out."""
    by_id = {key(row): row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


# ---- the dashboard ---------------------------------------------------------------------------------------


class DashboardRow(BaseModel):
    id: uuid.UUID
    name: str
    email: str | None = None
    partner_code: str | None = None
    direct: bool = Field(default=False, description="the Direct Accounts row")
    accounts: int
    size_bytes: int
    task_status: TaskStatus
    amount: str | None = Field(default=None, description="owed, a decimal string; null when billing is unavailable")
    currency: str | None = None
    billing_status: RollupStatus | None = None


class DashboardPage(BaseModel):
    items: list[DashboardRow] = Field(description="partner rows of this page")
    direct_accounts: DashboardRow | None = Field(default=None, description="the Direct Accounts row")
    page: int
    page_size: int
    total: int
    total_partners: int
    sort: DashboardSort = Field(description="the order of the page (name when an amount sort had no billing)")
    billing_available: bool = Field(description="false when billing did not answer (or the caller does not see "
                                                "money): its columns are null")


def _row(row: PartnerRow, direct: bool, rollup: OwnerRollup | None) -> DashboardRow:
    return DashboardRow(
        id=row.id, name=row.name, email=row.email, partner_code=row.partner_code, direct=direct,
        accounts=row.accounts, size_bytes=row.size_bytes, task_status=row.task_status,
        amount=str(rollup.amount_owed) if rollup else None, currency=rollup.currency if rollup else None,
        billing_status=rollup.billing_status if rollup else None,
    )


def _page(partners: PartnerPage, rows: list[PartnerRow], direct: PartnerRow | None,
          rollups: dict[uuid.UUID, OwnerRollup], available: bool, sort: str, total: int) -> DashboardPage:
    return DashboardPage(
        items=[_row(row, False, rollups.get(row.id)) for row in rows],
        direct_accounts=_row(direct, True, rollups.get(direct.id)) if direct else None,
        page=partners.page, page_size=partners.page_size, total=total, total_partners=partners.total_partners,
        sort=sort, billing_available=available,  # type: ignore[arg-type]
    )


@router.get(
    "/dashboard",
    response_model=DashboardPage,
    summary="Partner rows plus the Direct Accounts row: size, amount, task and billing status",
    responses={
        403: {"description": "`permission_denied`: billing_status or an amount sort without 'view_billing'"},
        503: {"description": "tenancy did not answer, or billing did not answer a billing_status filter "
                             "(billing alone missing otherwise only blanks its columns)"},
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
    money = sees_money(principal, distributor_id)
    refuse_billing_terms(money, billing_status, sort)
    tenancy_filters: dict[str, Any] = {"search": search, "task_status": task_status,
                                       "distributor_id": str(distributor_id) if distributor_id else None}
    tenancy_filters = {k: v for k, v in tenancy_filters.items() if v is not None}
    billing_args = billing_scope_args(distributor_id)
    if sort in AMOUNT_SORTS:
        by_amount = _by_amount(rpc, tenancy_filters, billing_args, billing_status, sort, page, page_size)
        if by_amount is not None:
            return by_amount
        sort = "name"  # billing did not answer: tenancy's columns in name order
    query: dict[str, Any] = {**tenancy_filters, "sort": sort, "page": page, "page_size": page_size}
    include_direct = True
    if billing_status is not None:
        # Billing owns the filter: it names the matching partners, tenancy pages them.
        matching = rpc.call("billing", "billing_filter", {"level": "owners", "owner_status": billing_status,
                                                          **billing_args})
        query["ids"] = matching["ids"]
        include_direct = bool(matching.get("includes_direct"))
    partners = PartnerPage.from_wire(rpc.call("tenancy", "list_partners", query))
    direct = partners.direct if include_direct else None
    rollups, available = _rollups(rpc, partners.items, direct, billing_args) if money else ({}, False)
    return _page(partners, partners.items, direct, rollups, available, sort, partners.total)


def _by_amount(rpc: Rpc, tenancy_filters: dict[str, Any], billing_args: dict[str, Any],
               billing_status: RollupStatus | None, sort: str, page: int, page_size: int) -> DashboardPage | None:
    """Tenancy names the candidates, billing orders and pages them, tenancy answers the page's rows.

    None when billing did not answer and no billing filter was asked for (the caller falls
    back to name order).
    """
    candidates = IdList.from_wire(rpc.call("tenancy", "partner_ids", tenancy_filters))
    check_candidates(candidates, "partners")
    request = {"ids": [str(i) for i in candidates.ids], "sort": sort, "page": page, "page_size": page_size,
               **billing_args, **({"owner_status": billing_status.value} if billing_status else {})}
    answer = billing_order(rpc, "billing_owner_page", request, filtering=billing_status is not None)
    if answer is None:
        return None
    ordered = OwnerAmountPage.from_wire(answer)
    page_ids = [item.owner_id for item in ordered.items]
    # The tenancy filters again (the page's ids match them already): tenancy applies them to
    # the Direct Accounts row it answers beside the page.
    partners = PartnerPage.from_wire(rpc.call("tenancy", "list_partners", {
        "ids": [str(i) for i in page_ids], "page": 1, "page_size": max(len(page_ids), 1), **tenancy_filters}))
    rows = in_order(page_ids, partners.items, key=lambda row: row.id)
    direct = partners.direct if ordered.direct is not None else None
    rollups = {item.owner_id: item for item in ordered.items}
    if ordered.direct is not None:
        rollups[ordered.direct.owner_id] = ordered.direct
    page_info = partners.model_copy(update={"page": page, "page_size": page_size})
    return _page(page_info, rows, direct, rollups, True, sort, ordered.total)


def _rollups(rpc: Rpc, rows: list[PartnerRow], direct: PartnerRow | None,
             billing_args: dict[str, Any]) -> tuple[dict[uuid.UUID, OwnerRollup], bool]:
    owners = [str(row.id) for row in rows] + ([str(direct.id)] if direct else [])
    if not owners:
        return {}, True
    answer, available = call_billing(rpc, "billing_rollups", {"owner_ids": owners, **billing_args})
    if not available:
        return {}, False
    return {item.owner_id: item for item in (OwnerRollup.from_wire(i) for i in answer["items"])}, True
