"""Retention: entries older than the configured days are purged, and the chain stays verifiable.

A purge removes a *prefix* of a tenant's chain (``seq`` 1..S, all older than the cutoff;
an old entry recorded late waits until everything before it may go too), records the last
removed link (S and its hash) as the chain's new anchor, and appends a "Retention" entry
saying so to the same chain. Verification then starts at the anchor. The delete itself goes
through the only path the append-only guards leave open (migration 0002).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.audit import AuditPurged
from contracts.events import AuditEvent
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.audit.adapters.models import AuditEntry, PurgeGate
from services.audit.domain.audited_events import map_event
from services.audit.usecases.trail import append, lock_head

log = get_logger(__name__)
E = AuditEntry


@dataclass(frozen=True)
class PurgeResult:
    tenants: int
    removed: int


def delete_prefix(session: Session, tenant_id: uuid.UUID, upto_seq: int, cutoff: datetime) -> int:
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(sa.text("SELECT audit_purge(:tenant, :upto, :cutoff)"),
                                   {"tenant": tenant_id, "upto": upto_seq, "cutoff": cutoff}).scalar_one())
    session.add(PurgeGate(id=1))
    session.flush()
    removed = session.execute(sa.delete(E).where(E.tenant_id == tenant_id, E.seq <= upto_seq)).rowcount  # type: ignore[attr-defined]
    session.execute(sa.delete(PurgeGate))
    return int(removed)


def purge_tenant(uow: UnitOfWork, tenant_id: uuid.UUID, cutoff: datetime, now: datetime) -> int:
    session = uow.session
    head = lock_head(session, tenant_id, now)
    first_kept = session.execute(
        sa.select(sa.func.min(E.seq)).where(E.tenant_id == tenant_id, E.occurred_at >= cutoff)
    ).scalar_one()
    upto = first_kept - 1 if first_kept is not None else head.seq
    if upto <= head.anchor_seq:
        uow.rollback()
        return 0
    anchor_hash = session.execute(sa.select(E.hash).where(E.tenant_id == tenant_id, E.seq == upto)).scalar_one()
    removed = delete_prefix(session, tenant_id, upto, cutoff)
    head.anchor_seq, head.anchor_hash = upto, anchor_hash
    envelope = uow.emit(AuditEvent.AUDIT_PURGED, AuditPurged(
        tenant_id=tenant_id, removed=removed, older_than=cutoff, anchor_seq=upto, anchor_hash=anchor_hash,
    ).to_wire(), tenant_id=tenant_id)
    fields = map_event(envelope)
    assert fields is not None
    append(session, fields, now)
    uow.commit()
    return removed


def purge_expired(uow: UnitOfWork, retention_days: int, now: datetime | None = None) -> PurgeResult:
    """Purge every tenant's entries older than ``retention_days``; one transaction per tenant."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    tenants = list(uow.session.execute(sa.select(E.tenant_id).where(E.occurred_at < cutoff).distinct()).scalars())
    uow.rollback()
    removed = sum(purge_tenant(uow, tenant_id, cutoff, now) for tenant_id in tenants)
    if removed:
        log.info("retention purge", tenants=len(tenants), removed=removed, older_than=cutoff.isoformat())
    return PurgeResult(len(tenants), removed)
