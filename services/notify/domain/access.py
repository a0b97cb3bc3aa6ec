"""Who may do what in notify, re-checked here whatever the gateway did. Pure domain code: it
judges the caller that travelled with the call.

- Recipients and settings belong to the caller's own tenant: a signed-in administrator,
  or a user granted ``manage_notifications``. Nobody reaches another tenant's rows: a
  recipient of another tenant does not exist (NotFound).
- Backup Radar: an operator switches it on or off for a distributor; the distributor's
  administrators set the endpoint and see its secret; its users with
  ``manage_notifications`` see the configuration (without the secret) and the deliveries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from contracts.vocabulary import Permission, TenantKind

ADMINISTRATOR = "administrator"  # the role


def is_administrator(caller: Caller) -> bool:
    return caller.role == ADMINISTRATOR


def is_operator(caller: Caller) -> bool:
    # The operators' tenant is one fixed id; the claimed tenant_kind alone is not trusted
    # (notify keeps no copy of the tree to check a kind against).
    return (caller.tenant_id == OPERATOR_TENANT_ID and caller.tenant_kind == TenantKind.OPERATOR
            and is_administrator(caller))


def signed_in_tenant(caller: Caller) -> uuid.UUID:
    if caller.engine_key_id is not None:
        raise PermissionDenied("an engine key may only report backup runs")
    if caller.user_id is None or caller.tenant_id is None:
        raise NotAuthenticated("sign in first")
    return caller.tenant_id


def notification_manager(caller: Caller) -> uuid.UUID:
    """The caller's tenant, when the caller may manage its notifications."""
    tenant_id = signed_in_tenant(caller)
    if not is_administrator(caller) and Permission.MANAGE_NOTIFICATIONS not in (caller.permissions or []):
        raise PermissionDenied(f"this needs the '{Permission.MANAGE_NOTIFICATIONS}' permission")
    return tenant_id


@dataclass(frozen=True)
class IntegrationAccess:
    distributor_id: uuid.UUID
    operator: bool
    # The distributor's own administrator: may set the endpoint and see the secret.
    owner_admin: bool


def integration_access(caller: Caller, distributor_id: uuid.UUID | None) -> IntegrationAccess:
    """Whose integration the caller means, and as whom it acts on it."""
    tenant_id = signed_in_tenant(caller)
    if is_operator(caller):
        if distributor_id is None:
            raise ValidationFailed.for_field("distributor_id", "is required for an operator")
        return IntegrationAccess(distributor_id, operator=True, owner_admin=False)
    if caller.tenant_kind != TenantKind.DISTRIBUTOR:
        raise PermissionDenied("Backup Radar is a distributor's integration")
    if distributor_id is not None and distributor_id != tenant_id:
        raise PermissionDenied("only your own distributor's integration")
    notification_manager(caller)
    return IntegrationAccess(tenant_id, operator=False, owner_admin=is_administrator(caller))
