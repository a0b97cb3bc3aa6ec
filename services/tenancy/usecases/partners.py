"""Use cases of distributors and partners: create, read, edit (the dashboard's partner list:
:mod:`services.tenancy.usecases.partner_list`).

Adding a partner announces ``partner_created``; identity reacts by inviting the partner
portal's first administrator at the partner's email.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import Conflict, PermissionDenied
from contracts.events import TenancyEvent
from contracts.tenancy import (
    DefaultSubscription,
    DistributorCreateRequest,
    PartnerCreated,
    PartnerCreateRequest,
    TenantDeleted,
    TenantProfile,
    TenantProfileUpdate,
)
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.identity_users import UserEmails
from services.tenancy.adapters.models import OwnerRollup, Tenant
from services.tenancy.adapters.views import profile_view
from services.tenancy.usecases.access import (
    ADD_ACCOUNTS,
    Scope,
    authorise,
    own_tenant,
    require_operator,
    visible_tenant,
)
from services.tenancy.usecases.profiles import change_profile
from services.tenancy.usecases.tenant_creation import NewTenant, create_tenant


def _utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# ---- partners ------------------------------------------------------------------------------------


def _distributor_for(uow: UnitOfWork, scope: Scope, distributor_id: uuid.UUID | None) -> Tenant:
    if distributor_id is not None:
        return visible_tenant(uow, scope, distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    if scope.tenant is None or scope.tenant.kind != TenantKind.DISTRIBUTOR:
        raise PermissionDenied("partners are added by a distributor (operators name it: distributor_id)")
    return own_tenant(uow, scope, "distributor_id", TenantKind.DISTRIBUTOR)


def create_partner(uow: UnitOfWork, ctx: CallContext, request: PartnerCreateRequest,
                   now: datetime | None = None, *, users: UserEmails | None = None) -> TenantProfile:
    """A partner under the caller's distributor; ``users`` refuses an email a user already has
    (its first administrator could not be invited), before anything is written."""
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    distributor = _distributor_for(uow, scope, request.distributor_id)
    partner = create_tenant(
        uow,
        NewTenant(
            TenantKind.PARTNER, distributor.id, request.name, request.email, request.country,
            request.data_center.value, request.contact_name, request.address, request.phone,
            request.default_subscription or DefaultSubscription(distributor.default_subscription),
        ),
        _utc(now),
        users=users,
    )
    assert partner.code is not None and partner.email is not None
    uow.emit(
        TenancyEvent.PARTNER_CREATED,
        PartnerCreated(
            partner_id=partner.id, parent_id=distributor.id, name=partner.name, email=partner.email,
            contact_name=partner.contact_name, partner_code=partner.code, country=request.country,
            data_center=request.data_center,
        ).to_wire(),
        tenant_id=distributor.id,
    )
    uow.commit()
    return profile_view(partner)


def get_partner(uow: UnitOfWork, ctx: CallContext, partner_id: uuid.UUID) -> TenantProfile:
    scope = authorise(uow, ctx)
    return profile_view(visible_tenant(uow, scope, partner_id, TenantKind.PARTNER, what="partner"))


def update_partner(uow: UnitOfWork, ctx: CallContext, partner_id: uuid.UUID, update: TenantProfileUpdate,
                   now: datetime | None = None) -> TenantProfile:
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    partner = visible_tenant(uow, scope, partner_id, TenantKind.PARTNER, what="partner")
    return change_profile(uow, scope, partner, update, TenancyEvent.PARTNER_UPDATED, partner.parent_id, _utc(now))


# ---- distributors (operators) ---------------------------------------------------------------------------------


def create_distributor(uow: UnitOfWork, ctx: CallContext, request: DistributorCreateRequest,
                       now: datetime | None = None) -> TenantProfile:
    require_operator(uow, ctx)
    distributor = create_tenant(
        uow,
        NewTenant(
            TenantKind.DISTRIBUTOR, request.parent_id or OPERATOR_TENANT_ID, request.name, request.email,
            request.country, request.data_center.value, request.contact_name, request.address, request.phone,
            request.default_subscription,
        ),
        _utc(now),
    )
    uow.commit()
    return profile_view(distributor)


def delete_distributor(uow: UnitOfWork, ctx: CallContext, distributor_id: uuid.UUID) -> None:
    """Undo a distributor that has nothing under it yet (the gateway's compensation)."""
    scope = require_operator(uow, ctx)
    distributor = visible_tenant(uow, scope, distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    session = uow.session
    if session.execute(sa.select(Tenant.id).where(Tenant.parent_id == distributor.id).limit(1)).first():
        raise Conflict("the distributor has partners or accounts; it cannot be deleted")
    session.execute(sa.delete(OwnerRollup).where(OwnerRollup.owner_id == distributor.id))
    session.delete(distributor)
    uow.emit(
        TenancyEvent.TENANT_DELETED,
        TenantDeleted(tenant_id=distributor.id, kind=distributor.kind, name=distributor.name).to_wire(),
        tenant_id=distributor.parent_id,
    )
    uow.commit()
