"""Profiles of distributors and partners: the partner edit and Settings > Account.

Only the fields given change. The storage location (``data_center``) is read-only
except to an operator: moving data is "contact Support".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import Enum

from contracts.errors import ValidationFailed
from contracts.events import TenancyEvent
from contracts.tenancy import ProfileChanged, TenantProfile, TenantProfileUpdate
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import Tenant
from services.tenancy.adapters.views import profile_view
from services.tenancy.usecases.access import ADMINISTRATOR, Scope, authorise, own_tenant, visible_tenant
from services.tenancy.usecases.tenant_creation import OWNER_KINDS, check_email_free

NOT_EMPTY = ("name", "email", "country", "default_subscription")


def apply_profile_update(uow: UnitOfWork, scope: Scope, tenant: Tenant, update: TenantProfileUpdate,
                         now: datetime) -> list[str]:
    """Apply the given fields to ``tenant``; returns the names of the fields that changed."""
    given = {name: getattr(update, name) for name in sorted(update.model_fields_set)}
    for name in NOT_EMPTY:
        if name in given and given[name] is None:
            raise ValidationFailed.for_field(name, "cannot be empty")
    changed: list[str] = []
    for name, value in given.items():
        stored = value.value if isinstance(value, Enum) else value
        if getattr(tenant, name) == stored:
            continue
        if name == "data_center" and not scope.is_operator:
            raise ValidationFailed.for_field("data_center", "is read-only: an operator changes the storage location")
        if name == "email":
            tenant.email_normalised = check_email_free(uow, stored, except_id=tenant.id)
        setattr(tenant, name, stored)
        changed.append(name)
    if changed:
        tenant.updated_at = now
    return changed


def change_profile(uow: UnitOfWork, scope: Scope, tenant: Tenant, update: TenantProfileUpdate, event: str,
                   announce_to: uuid.UUID | None, now: datetime) -> TenantProfile:
    """Apply ``update``, announce ``event`` naming the changed fields (if any), commit."""
    previous_name = tenant.name
    changed = apply_profile_update(uow, scope, tenant, update, now)
    if changed:
        uow.emit(event, ProfileChanged(
            tenant_id=tenant.id, kind=tenant.kind, fields=changed, name=tenant.name,
            previous_name=previous_name if "name" in changed else None,
        ).to_wire(), tenant_id=announce_to)
    uow.commit()
    return profile_view(tenant)


def settings_target(uow: UnitOfWork, scope: Scope, tenant_id: uuid.UUID | None) -> Tenant:
    """The tenant whose settings are meant: a named distributor or partner in scope, or the
    caller's own tenant (a customer account's users have their account's settings too)."""
    if tenant_id is not None:
        return visible_tenant(uow, scope, tenant_id, *OWNER_KINDS)
    return own_tenant(uow, scope, "tenant_id", *OWNER_KINDS, TenantKind.ACCOUNT)


def get_account_settings(uow: UnitOfWork, ctx: CallContext, tenant_id: uuid.UUID | None = None) -> TenantProfile:
    scope = authorise(uow, ctx)
    return profile_view(settings_target(uow, scope, tenant_id))


def update_account_settings(uow: UnitOfWork, ctx: CallContext, update: TenantProfileUpdate,
                            tenant_id: uuid.UUID | None = None, now: datetime | None = None) -> TenantProfile:
    scope = authorise(uow, ctx, ADMINISTRATOR)
    tenant = settings_target(uow, scope, tenant_id)
    if tenant.kind == TenantKind.ACCOUNT and update.default_subscription is not None:
        raise ValidationFailed.for_field("default_subscription", "a customer account has no accounts to default for")
    return change_profile(uow, scope, tenant, update, TenancyEvent.SETTINGS_CHANGED, tenant.id,
                          now or datetime.now(UTC))

