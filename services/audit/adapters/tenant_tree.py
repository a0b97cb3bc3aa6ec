"""audit's own copy of the tenant tree: tenant id → materialised path, from tenancy's events.

Audit cannot read tenancy's database. tenancy announces every new tenant with its parent
(``tenant_created``, ``partner_created``, ``account_created``); the root is known from the
migration. Events may arrive out of order: a tenant whose parent is not known yet is kept
with no path, and gets one (with all its waiting descendants) when the parent arrives.
Writes to the tree are serialised (an advisory lock on PostgreSQL; SQLite has one writer),
so a parent and its child arriving at once never leave the child without a path.
"""

from __future__ import annotations

import uuid
import zlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.audit.adapters.models import AuditTenant
from services.audit.domain.access import child_path
from services.audit.domain.entries import TenantNode

TREE_LOCK = zlib.crc32(b"audit:tenant-tree")


def lock_tree(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": TREE_LOCK})


def path_of(session: Session, tenant_id: uuid.UUID) -> str | None:
    return session.execute(sa.select(AuditTenant.path).where(AuditTenant.id == tenant_id)).scalar_one_or_none()


def add_tenant(session: Session, node: TenantNode) -> None:
    """Place ``node`` in the tree (idempotent), then any descendants that were waiting for it."""
    lock_tree(session)
    tenant = session.get(AuditTenant, node.id)
    if tenant is None:
        tenant = AuditTenant(id=node.id, parent_id=node.parent_id, kind=node.kind, name=node.name)
        session.add(tenant)
    else:
        # Known already: from a rename that overtook this creation event (its name is the
        # newer one, keep it), or a second announcement of the same tenant.
        tenant.parent_id = tenant.parent_id or node.parent_id
        tenant.name = tenant.name or node.name
    if tenant.path is None and node.parent_id is not None:
        parent_path = path_of(session, node.parent_id)
        if parent_path is not None:
            tenant.path = child_path(parent_path, node.id)
    session.flush()
    if tenant.path is not None:
        place_waiting_descendants(session, tenant.id, tenant.path)


def place_waiting_descendants(session: Session, tenant_id: uuid.UUID, path: str) -> None:
    pending = [(tenant_id, path)]
    while pending:
        parent_id, parent_path = pending.pop()
        children = session.execute(
            sa.select(AuditTenant).where(AuditTenant.parent_id == parent_id, AuditTenant.path.is_(None))
        ).scalars()
        for child in children:
            child.path = child_path(parent_path, child.id)
            pending.append((child.id, child.path))
    session.flush()


def rename_tenant(session: Session, tenant_id: uuid.UUID, name: str, kind: str = "tenant") -> None:
    """The tenant's new name; a rename that overtakes the tenant's creation event (they come
    through different queues) leaves a row with no parent yet, which the creation completes."""
    lock_tree(session)
    tenant = session.get(AuditTenant, tenant_id)
    if tenant is None:
        session.add(AuditTenant(id=tenant_id, parent_id=None, kind=kind, name=name))
    else:
        tenant.name = name
    session.flush()
