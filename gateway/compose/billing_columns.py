"""Who sees billing's columns (amounts, billing statuses) in the composed lists: the
dashboard and the account lists. Tenancy keeps the columns; the gateway decides who gets them.
"""

from __future__ import annotations

import uuid
from typing import Any

from contracts.errors import PermissionDenied
from contracts.identity import Principal
from contracts.vocabulary import Permission, TenantKind
from gateway.auth import is_administrator

AMOUNT_SORTS = ("amount", "-amount")
VIEW_BILLING = Permission.VIEW_BILLING


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
