"""The tenant tree's building blocks that every use case shares: the root and new nodes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.events import TenancyEvent
from contracts.tenancy import DefaultSubscription, TenantCreated
from contracts.vocabulary import TenantKind
from servicekit.db import UnitOfWork
from services.tenancy.adapters.identity_users import UserEmails
from services.tenancy.adapters.models import OwnerRollup, Tenant
from services.tenancy.adapters.rows import add_to_distributors_above
from services.tenancy.domain.tree import child_path, may_have_parent, new_partner_code, root_path

# Distributors and partners hold accounts directly, and so have a roll-up row.
OWNER_KINDS = (TenantKind.DISTRIBUTOR, TenantKind.PARTNER)


@dataclass(frozen=True)
class NewTenant:
    kind: TenantKind
    parent_id: uuid.UUID
    name: str
    email: str | None = None
    country: str | None = None
    data_center: str | None = None
    contact_name: str | None = None
    address: str | None = None
    phone: str | None = None
    default_subscription: DefaultSubscription = DefaultSubscription.TRIAL_EXPIRING


def ensure_operator_root(uow: UnitOfWork) -> Tenant:
    """The root of the tree exists from the first start on (idempotent)."""
    root = uow.session.get(Tenant, OPERATOR_TENANT_ID)
    if root is None:
        root = Tenant(
            id=OPERATOR_TENANT_ID,
            parent_id=None,
            kind=TenantKind.OPERATOR,
            name="Operator",
            path=root_path(OPERATOR_TENANT_ID),
            depth=0,
            created_at=datetime.now(UTC),
        )
        uow.session.add(root)
        uow.commit()
    return root


def email_conflict() -> Conflict:
    return Conflict("email is already in use", {"fields": [{"field": "email", "reason": "already in use"}]})


def check_email_free(uow: UnitOfWork, email: str, except_id: uuid.UUID | None = None) -> str:
    """The normalised email, when no other tenant uses it (case-insensitively)."""
    normalised = email.strip().lower()
    query = sa.select(Tenant.id).where(Tenant.email_normalised == normalised)
    if except_id is not None:
        query = query.where(Tenant.id != except_id)
    if uow.session.execute(query).first():
        raise email_conflict()
    return normalised


def create_tenant(uow: UnitOfWork, new: NewTenant, now: datetime | None = None, *,
                  users: UserEmails | None = None) -> Tenant:
    """Add a node under ``new.parent_id``; announces ``tenant_created``. Does not commit.

    With ``users`` (a tenant whose first administrator identity invites at its email), an
    email that already has a user is refused like one another tenant has, asked before
    anything is written (no write transaction is open across the call)."""
    session = uow.session
    parent = session.get(Tenant, new.parent_id)
    if parent is None:
        raise NotFound("parent tenant not found", {"field": "parent_id"})
    if not may_have_parent(new.kind, TenantKind(parent.kind)):
        raise ValidationFailed.for_field("parent_id", f"a {new.kind} cannot be created under a {parent.kind}")
    normalised = check_email_free(uow, new.email) if new.email else None
    if new.email and users is not None and users.email_in_use(new.email):
        raise email_conflict()
    tenant_id = uuid.uuid4()
    tenant = Tenant(
        id=tenant_id,
        parent_id=parent.id,
        kind=new.kind,
        name=new.name,
        email=new.email,
        email_normalised=normalised,
        code=new_partner_code() if new.kind is TenantKind.PARTNER else None,
        country=new.country,
        data_center=new.data_center,
        contact_name=new.contact_name,
        address=new.address,
        phone=new.phone,
        default_subscription=new.default_subscription.value,
        path=child_path(parent.path, tenant_id),
        depth=parent.depth + 1,
        created_at=now or datetime.now(UTC),
    )
    session.add(tenant)
    try:
        session.flush()  # the row exists before anything refers to it (no ORM relationships here)
    except IntegrityError as exc:
        # Two requests raced for the same email: the unique index decided.
        if "email" in str(exc.orig):
            raise email_conflict() from None
        raise
    if new.kind in OWNER_KINDS:
        session.add(OwnerRollup(owner_id=tenant_id, kind=tenant.kind, path=tenant.path, accounts=0, tasks=0,
                                size_bytes=0, seats=0,
                                backup_no_backup=0, backup_successful=0, backup_partially_failed=0, backup_failed=0))
    if new.kind is TenantKind.PARTNER:  # every distributor above it counts it (the dashboard's "N of M")
        add_to_distributors_above(session, tenant.path, "partners_below", 1)
    uow.emit(
        TenancyEvent.TENANT_CREATED,
        TenantCreated(tenant_id=tenant.id, parent_id=parent.id, kind=TenantKind(tenant.kind), name=tenant.name,
                      code=tenant.code).to_wire(),
        tenant_id=parent.id,
    )
    return tenant
