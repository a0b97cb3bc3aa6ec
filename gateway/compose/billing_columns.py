"""Billing's columns beside tenancy's rows: who sees money, billing's part of a composed list,
and what happens when billing does not answer (the columns go blank, the page stays).

Shared by the composed lists: the dashboard, the account lists and drill-downs, billing status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from contracts.billing import MAX_CANDIDATES
from contracts.errors import PermissionDenied, ServiceUnavailable, ValidationFailed
from contracts.identity import Principal
from contracts.tenancy import IdList
from contracts.vocabulary import Permission, TenantKind
from gateway.auth import is_administrator
from gateway.deps import Rpc
from gateway.rpc import Call
from servicekit.logging import get_logger

log = get_logger(__name__)

AMOUNT_SORTS = ("amount", "-amount")
VIEW_BILLING = Permission.VIEW_BILLING

T = TypeVar("T")


def sees_money(principal: Principal, distributor_id: uuid.UUID | None = None) -> bool:
    """Distributor users with "view billing" see amounts and billing statuses; operators too,
    once they name the distributor (billing is per distributor). Partners and customers never."""
    user = principal.user
    if user.tenant_kind not in (TenantKind.DISTRIBUTOR, TenantKind.OPERATOR):
        return False
    if user.tenant_kind == TenantKind.OPERATOR and distributor_id is None:
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


def call_billing(rpc: Rpc, call: Call) -> tuple[Any, bool]:
    """A billing call whose absence only blanks billing's columns: (value, True) or (None, False).

    Billing down, late or failing degrades; a refusal of the request itself (a 4xx:
    bad input, no permission) is the caller's answer and is raised.
    """
    result = rpc.attempt(call)
    if result.error is None:
        return result.value, True
    result.raise_refusal()
    log.warning("composed without billing columns", method=call.method, error=type(result.error).__name__)
    return None, False


def billing_order(rpc: Rpc, call: Call, filtering: bool) -> Any | None:
    """Billing's ordered page (None when billing is away: the caller falls back to name order);
    a billing-status filter cannot be answered without billing: 503."""
    answer, available = call_billing(rpc, call)
    if not available and filtering:
        raise ServiceUnavailable("billing did not answer: the billing status filter needs it",
                                 {"service": call.service})
    return answer if available else None


def check_candidates(candidates: IdList, what: str) -> None:
    if candidates.total > MAX_CANDIDATES:
        raise ValidationFailed.for_field(
            "sort", f"sorting by amount takes at most {MAX_CANDIDATES} matching {what}: narrow with a search or filter")


def in_order(ids: Iterable[uuid.UUID], rows: Iterable[T], key: Any) -> list[T]:
    """``rows`` in the order of ``ids`` (billing's order); rows of ids tenancy no longer has drop out."""
    by_id = {key(row): row for row in rows}
    return [by_id[i] for i in ids if i in by_id]
