"""The trail's storage: entries as links of their tenant's hash chain, and the chain heads.

Appends to one tenant's chain are serialised on that tenant's ``audit_chain_heads`` row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a single writer), so concurrent handlers
and instances never fork a chain: each entry's ``prev_hash`` is the hash of exactly one
entry before it, and ``seq`` counts up without gaps.

The only delete is the retention purge of a chain's prefix, through the one path the
append-only guards leave open (migration 0002).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from contracts.vocabulary import TenantKind
from services.audit.adapters import tenant_tree
from services.audit.adapters.models import AuditEntry, AuditTenant, ChainHead, PurgeGate
from services.audit.domain.chain import GENESIS_HASH, Link, link_hash
from services.audit.domain.entries import AuditFields

E = AuditEntry
LINK_COLUMNS = [getattr(E, name) for name in AuditFields.__dataclass_fields__] + [E.seq, E.prev_hash, E.hash]
BATCH = 2000


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
        if tenant is not None and tenant.kind == TenantKind.ACCOUNT:
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
    if session.execute(sa.select(E.id).where(E.event_id == fields.event_id)).first():
        return None
    fields = with_account(session, fields).fitted()
    seq = head.seq + 1
    digest = link_hash(fields, seq, head.last_hash)
    entry = AuditEntry(
        **{name: getattr(fields, name) for name in fields.__dataclass_fields__},
        tenant_path=tenant_tree.path_of(session, fields.tenant_id),
        seq=seq, prev_hash=head.last_hash, hash=digest, recorded_at=now,
    )
    session.add(entry)
    head.seq, head.last_hash, head.updated_at = seq, digest, now
    session.flush()
    return entry


def fields_of(entry: Any) -> AuditFields:
    """The hashed fields of a stored entry (an ORM object or a row), exactly as stored."""
    return AuditFields(**{name: getattr(entry, name) for name in AuditFields.__dataclass_fields__})


# Retention.

def tenants_with_entries_before(session: Session, cutoff: datetime) -> list[uuid.UUID]:
    return list(session.execute(sa.select(E.tenant_id).where(E.occurred_at < cutoff).distinct()).scalars())


def first_seq_since(session: Session, tenant_id: uuid.UUID, cutoff: datetime) -> int | None:
    """The first link of the tenant's chain that occurred at or after ``cutoff``, if any."""
    first: int | None = session.execute(
        sa.select(sa.func.min(E.seq)).where(E.tenant_id == tenant_id, E.occurred_at >= cutoff)
    ).scalar_one()
    return first


def hash_at(session: Session, tenant_id: uuid.UUID, seq: int) -> str:
    return session.execute(sa.select(E.hash).where(E.tenant_id == tenant_id, E.seq == seq)).scalar_one()


def delete_prefix(session: Session, tenant_id: uuid.UUID, upto_seq: int, cutoff: datetime) -> int:
    """Delete the links 1..``upto_seq`` of the tenant's chain; how many went."""
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(sa.text("SELECT audit_purge(:tenant, :upto, :cutoff)"),
                                   {"tenant": tenant_id, "upto": upto_seq, "cutoff": cutoff}).scalar_one())
    session.add(PurgeGate(id=1))
    session.flush()
    removed = session.execute(sa.delete(E).where(E.tenant_id == tenant_id, E.seq <= upto_seq)).rowcount  # type: ignore[attr-defined]
    session.execute(sa.delete(PurgeGate))
    return int(removed)


# Verification.

def heads_of(session: Session, tenant_ids: list[uuid.UUID] | None) -> dict[uuid.UUID, ChainHead]:
    """The chain heads of these tenants (of every tenant: None)."""
    query = sa.select(ChainHead)
    if tenant_ids is not None:
        query = query.where(ChainHead.tenant_id.in_(tenant_ids))
    return {head.tenant_id: head for head in session.execute(query).scalars()}


def stored_links(session: Session, tenant_ids: Iterable[uuid.UUID] | None) -> Iterator[tuple[uuid.UUID, Link]]:
    """Every stored entry as (tenant, link), in chain order tenant by tenant: one pass, streamed in
    batches (constant memory)."""
    query = sa.select(*LINK_COLUMNS).order_by(E.tenant_id, E.seq).execution_options(yield_per=BATCH)
    if tenant_ids is not None:
        query = query.where(E.tenant_id.in_(list(tenant_ids)))
    rows = session.execute(query)
    try:
        for row in rows:
            yield row.tenant_id, Link(fields_of(row), row.seq, row.prev_hash, row.hash)
    finally:
        rows.close()
