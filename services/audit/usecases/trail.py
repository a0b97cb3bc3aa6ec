"""Writing the trail: one entry per audited event, appended to its tenant's hash chain.

Appends to one tenant's chain are serialised on that tenant's ``audit_chain_heads`` row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer), so concurrent handlers
and instances never fork a chain: each entry's ``prev_hash`` is the hash of exactly one
entry before it, and ``seq`` counts up without gaps.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from contracts.envelope import EventEnvelope
from servicekit.db import UnitOfWork
from services.audit.adapters import tenant_tree as projection
from services.audit.adapters.models import AuditEntry, AuditTenant, ChainHead
from services.audit.domain.audited_events import map_event, tenant_node, tenant_renamed
from services.audit.domain.chain import GENESIS_HASH, link_hash
from services.audit.domain.entries import AuditFields


def insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).values(**values).on_conflict_do_nothing())


def lock_head(session: Session, tenant_id: uuid.UUID, now: datetime) -> ChainHead:
    """The tenant's chain head, locked until the transaction ends (created at the genesis)."""
    insert_ignoring_conflicts(session, ChainHead.__table__, {
        "tenant_id": tenant_id, "seq": 0, "last_hash": GENESIS_HASH, "anchor_seq": 0, "anchor_hash": GENESIS_HASH,
        "updated_at": now,
    })
    return session.execute(
        sa.select(ChainHead).where(ChainHead.tenant_id == tenant_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def with_account(session: Session, fields: AuditFields) -> AuditFields:
    """Name the target account from the projection; an event in a customer account's own
    trail is about that account."""
    if fields.account_id is None:
        tenant = session.get(AuditTenant, fields.tenant_id)
        if tenant is not None and tenant.kind == "account":
            return replace(fields, account_id=tenant.id, account_name=tenant.name)
        return fields
    if fields.account_name is None:
        return replace(fields, account_name=session.execute(
            sa.select(AuditTenant.name).where(AuditTenant.id == fields.account_id)).scalar_one_or_none())
    return fields


def append(session: Session, fields: AuditFields, now: datetime | None = None) -> AuditEntry | None:
    """Add the entry at the end of its tenant's chain; None when its event is already there."""
    now = now or datetime.now(UTC)
    head = lock_head(session, fields.tenant_id, now)
    # Under the head's lock: a second delivery of the same event finds the first one's entry.
    if session.execute(sa.select(AuditEntry.id).where(AuditEntry.event_id == fields.event_id)).first():
        return None
    fields = with_account(session, fields).fitted()
    seq = head.seq + 1
    digest = link_hash(fields, seq, head.last_hash)
    entry = AuditEntry(
        **{name: getattr(fields, name) for name in fields.__dataclass_fields__},
        tenant_path=projection.path_of(session, fields.tenant_id),
        seq=seq, prev_hash=head.last_hash, hash=digest, recorded_at=now,
    )
    session.add(entry)
    head.seq, head.last_hash, head.updated_at = seq, digest, now
    session.flush()
    return entry


def record_event(uow: UnitOfWork, envelope: EventEnvelope) -> AuditEntry | None:
    """An event from another service: keep the tree projection current, then write its entry."""
    session = uow.session
    node = tenant_node(envelope)
    if node is not None:
        projection.add_tenant(session, node)
    renamed = tenant_renamed(envelope)
    if renamed is not None:
        projection.rename_tenant(session, *renamed)
    fields = map_event(envelope)
    entry = append(session, fields) if fields is not None else None
    uow.commit()
    return entry


def fields_of(entry: Any) -> AuditFields:
    """The hashed fields of a stored entry (an ORM object or a row), exactly as stored."""
    return AuditFields(**{name: getattr(entry, name) for name in AuditFields.__dataclass_fields__})
