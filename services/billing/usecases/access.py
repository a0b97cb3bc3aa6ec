"""Who may see money: a distributor (its own bills) and the vendor's operators. Partner
and customer users are refused here, in the service, whatever the gateway let through; a
distributor's user limited to some accounts sees only what concerns those accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts.errors import NotFound, PermissionDenied, ValidationFailed
from contracts.vocabulary import Permission, TenantKind
from servicekit.context import CallContext

VIEW_BILLING = Permission.VIEW_BILLING
ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class BillingScope:
    distributor_id: uuid.UUID
    is_operator: bool
    user_id: uuid.UUID | None
    accessible_accounts: frozenset[uuid.UUID] | None  # None: every account

    def sees_bill(self, consolidated: bool, account_id: uuid.UUID | None) -> bool:
        """A user limited to some accounts sees the annual invoices of those accounts and no
        consolidated bill: one covers accounts outside its list (their names, seats and
        amounts are on it, and paying it pays for them). Everyone else sees every bill of
        the distributor."""
        if self.accessible_accounts is None:
            return True
        return not consolidated and account_id in self.accessible_accounts


def _is_operator(ctx: CallContext) -> bool:
    return ctx.caller.tenant_kind == TenantKind.OPERATOR and ctx.caller.tenant_id is not None


def _may_view_billing(ctx: CallContext) -> bool:
    caller = ctx.caller
    return caller.role == ADMINISTRATOR or VIEW_BILLING in (caller.permissions or [])


def billing_scope(ctx: CallContext, distributor_id: uuid.UUID | None = None) -> BillingScope:
    """The distributor whose billing this call may see, or a refusal.

    A distributor's user sees its own tenant's billing (``distributor_id`` may only name
    it); an operator, or the system, must name the distributor. Everyone else: 403.
    """
    caller = ctx.caller
    if caller.is_system or _is_operator(ctx):
        if not caller.is_system and not _may_view_billing(ctx):
            raise PermissionDenied(f"you need the '{VIEW_BILLING}' permission")
        if distributor_id is None:
            raise ValidationFailed.for_field("distributor_id", "is required for an operator")
        return BillingScope(distributor_id, True, caller.user_id, None)
    if caller.tenant_kind != TenantKind.DISTRIBUTOR or caller.tenant_id is None:
        raise PermissionDenied("only a distributor sees billing")
    if not _may_view_billing(ctx):
        raise PermissionDenied(f"you need the '{VIEW_BILLING}' permission")
    if distributor_id is not None and distributor_id != caller.tenant_id:
        raise NotFound("distributor not found")
    accessible = frozenset(caller.accessible_accounts) if caller.accessible_accounts is not None else None
    return BillingScope(caller.tenant_id, False, caller.user_id, accessible)


def require_operator(ctx: CallContext) -> None:
    """Support's actions: switching a chosen method, recording payments, running billing."""
    if ctx.caller.is_system:
        return
    if not _is_operator(ctx) or ctx.caller.role != ADMINISTRATOR:
        raise PermissionDenied("only an operator may do this")
