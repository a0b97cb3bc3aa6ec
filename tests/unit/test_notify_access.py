"""Who may do what in notify (services/notify/domain/access.py), judged from the caller alone."""

from __future__ import annotations

import uuid

import pytest

from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from contracts.vocabulary import Permission, TenantKind
from services.notify.domain.access import integration_access, is_operator, notification_manager

DISTRIBUTOR = uuid.uuid4()


def caller(tenant_id: uuid.UUID | None = DISTRIBUTOR, kind: TenantKind = TenantKind.DISTRIBUTOR,
           role: str = "administrator", permissions: list[str] | None = None) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant_id, tenant_kind=kind, role=role, permissions=permissions)


def test_an_operator_is_an_administrator_of_the_operators_own_tenant():
    assert is_operator(caller(OPERATOR_TENANT_ID, TenantKind.OPERATOR))
    assert not is_operator(caller(uuid.uuid4(), TenantKind.OPERATOR))  # the kind merely claimed
    assert not is_operator(caller(OPERATOR_TENANT_ID, TenantKind.OPERATOR, role="custom"))


def test_notifications_are_managed_by_an_administrator_or_with_the_permission():
    assert notification_manager(caller()) == DISTRIBUTOR
    assert notification_manager(caller(role="custom", permissions=[Permission.MANAGE_NOTIFICATIONS])) == DISTRIBUTOR
    with pytest.raises(PermissionDenied):
        notification_manager(caller(role="custom", permissions=[Permission.VIEW_BILLING]))
    with pytest.raises(NotAuthenticated):
        notification_manager(Caller())


def test_backup_radar_is_a_distributors_integration():
    access = integration_access(caller(), None)
    assert (access.distributor_id, access.operator, access.owner_admin) == (DISTRIBUTOR, False, True)
    with pytest.raises(PermissionDenied):
        integration_access(caller(kind=TenantKind.PARTNER), None)
    with pytest.raises(PermissionDenied):
        integration_access(caller(), uuid.uuid4())


def test_an_operator_names_the_distributor():
    operator = caller(OPERATOR_TENANT_ID, TenantKind.OPERATOR)
    assert integration_access(operator, DISTRIBUTOR).operator
    with pytest.raises(ValidationFailed):
        integration_access(operator, None)
