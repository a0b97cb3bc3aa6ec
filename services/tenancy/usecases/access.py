"""Who may see and do what in tenancy, re-checked here whatever the gateway did.

- A caller sees its own subtree: the tenants whose ``path`` starts with its tenant's
  path (read from this service's database, never from the caller's claims). Operators'
  subtree is the whole tree.
- A user with a list of accessible accounts sees only those accounts; the others do not
  exist for it (NotFound), in lists and counts as well as by id.
- ``is_system`` callers (operations tooling, the trial clock) see everything.
- The backup engine (``engine_key_id``) may only report runs.
- Changes need the user's permission (administrators hold all of them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import Account, Tenant
from services.tenancy.domain.tree import is_within, root_path

ADD_ACCOUNTS = "add_accounts"
SUBSCRIBE_ACCOUNTS = "subscribe_accounts"
ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class TenantRef:
    """What authorising needs of the caller's tenant, none of which ever changes once the
    tenant exists. Read as three columns: an ORM entity cost a read more than its query."""

    id: uuid.UUID
    kind: TenantKind
    path: str


_CALLERS_TENANT = sa.select(Tenant.id, Tenant.kind, Tenant.path).where(Tenant.id == sa.bindparam("tenant_id"))


@dataclass(frozen=True)
class Scope:
    path: str
    tenant: TenantRef | None = None  # None: a system caller
    accounts: frozenset[uuid.UUID] | None = None
    is_operator: bool = False

    def sees(self, tenant: Tenant) -> bool:
        if not is_within(tenant.path, self.path):
            return False
        return tenant.kind != TenantKind.ACCOUNT or self.accounts is None or tenant.id in self.accounts

    def within(self) -> sa.ColumnElement[bool]:
        """SQL: the tenant row is in the caller's subtree (an indexed prefix match)."""
        return Tenant.path.like(self.path + "%")

    def account_filter(self) -> sa.ColumnElement[bool] | None:
        """SQL: the account row is one of the caller's accessible accounts (None: all are)."""
        return None if self.accounts is None else Account.id.in_(sorted(self.accounts))


def scope_for(uow: UnitOfWork, ctx: CallContext) -> Scope:
    return scope_and_tenant_row(uow, ctx, _CALLERS_TENANT)[0]


def scope_and_tenant_row(uow: UnitOfWork, ctx: CallContext, tenant_query: sa.Executable) -> tuple[Scope, Any]:
    """The caller's scope, its tenant read by ``tenant_query``, and the row it read (None for
    a system caller). The query selects at least the tenant's ``id``, ``kind`` and ``path``
    where its id is the bound ``tenant_id``; whatever else it selects spares the caller a
    second read of the same row."""
    caller = ctx.caller
    if caller.is_system:
        return Scope(root_path(OPERATOR_TENANT_ID), None, None, is_operator=True), None
    if caller.engine_key_id is not None:
        raise PermissionDenied("an engine key may only report backup runs")
    if caller.tenant_id is None:
        raise NotAuthenticated("sign in first")
    row = uow.session.execute(tenant_query, {"tenant_id": caller.tenant_id}).one_or_none()
    if row is None:
        raise PermissionDenied("the caller's tenant does not exist")
    tenant = TenantRef(row.id, TenantKind(row.kind), row.path)
    if tenant.kind == TenantKind.OPERATOR:
        return Scope(tenant.path, tenant, None, is_operator=True), row
    accessible = None if caller.accessible_accounts is None else frozenset(caller.accessible_accounts)
    return Scope(tenant.path, tenant, accessible), row


def require_permission(ctx: CallContext, permission: str) -> None:
    caller = ctx.caller
    if caller.is_system or caller.role == ADMINISTRATOR:
        return
    if permission != ADMINISTRATOR and permission in (caller.permissions or []):
        return
    wanted = "an administrator" if permission == ADMINISTRATOR else f"the '{permission}' permission"
    raise PermissionDenied(f"this needs {wanted}")


def authorise(uow: UnitOfWork, ctx: CallContext, permission: str | None = None) -> Scope:
    scope = scope_for(uow, ctx)
    if permission is not None:
        require_permission(ctx, permission)
    return scope


def require_operator(uow: UnitOfWork, ctx: CallContext) -> Scope:
    scope = scope_for(uow, ctx)
    if not scope.is_operator or not (ctx.caller.is_system or ctx.caller.role == ADMINISTRATOR):
        raise PermissionDenied("only an operator may do this")
    return scope


def require_ingest(uow: UnitOfWork, ctx: CallContext) -> None:
    """Runs come from the backup engine (its API key), operators, or the system."""
    if ctx.caller.engine_key_id is not None:
        return
    if not scope_for(uow, ctx).is_operator:
        raise PermissionDenied("only the backup engine reports backup runs")


def visible_tenant(uow: UnitOfWork, scope: Scope, tenant_id: uuid.UUID, *kinds: TenantKind,
                   what: str = "tenant") -> Tenant:
    """A tenant of one of ``kinds`` that the caller may see; anything else does not exist."""
    tenant = uow.session.get(Tenant, tenant_id)
    if tenant is None or not scope.sees(tenant) or (kinds and tenant.kind not in kinds):
        raise NotFound(f"{what} not found")
    return tenant


def visible_account(uow: UnitOfWork, scope: Scope, account_id: uuid.UUID) -> tuple[Tenant, Account]:
    tenant = visible_tenant(uow, scope, account_id, TenantKind.ACCOUNT, what="account")
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("account not found")
    return tenant, account


def own_tenant(uow: UnitOfWork, scope: Scope, field: str, *kinds: TenantKind) -> Tenant:
    """The caller's own tenant when it is of ``kinds``; otherwise ``field`` must be given."""
    if scope.tenant is None or scope.tenant.kind not in kinds:
        raise ValidationFailed.for_field(field, "is required for this caller")
    tenant = uow.session.get(Tenant, scope.tenant.id)
    if tenant is None:  # deleted since the scope was read
        raise PermissionDenied("the caller's tenant does not exist")
    return tenant
