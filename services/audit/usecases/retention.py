"""Retention: entries older than the configured days are purged, and the chain stays verifiable.

A purge removes a *prefix* of a tenant's chain (``seq`` 1..S, all older than the cutoff;
an old entry recorded late waits until everything before it may go too), records the last
removed link (S and its hash) as the chain's new anchor, and appends a "Retention" entry
saying so to the same chain. Verification then starts at the anchor. The delete itself goes
through the only path the append-only guards leave open (migration 0002, adapters/chain_store.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.audit import AuditPurged
from contracts.events import AuditEvent
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.audit.adapters.chain_store import (
    append,
    delete_prefix,
    first_seq_since,
    hash_at,
    lock_head,
    tenants_with_entries_before,
)
from services.audit.domain.audited_events import map_event

log = get_logger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    tenants: int
    removed: int


def purge_tenant(uow: UnitOfWork, tenant_id: uuid.UUID, cutoff: datetime, now: datetime) -> int:
    session = uow.session
    head = lock_head(session, tenant_id, now)
    first_kept = first_seq_since(session, tenant_id, cutoff)
    upto = first_kept - 1 if first_kept is not None else head.seq
    if upto <= head.anchor_seq:
        uow.rollback()
        return 0
    anchor_hash = hash_at(session, tenant_id, upto)
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
    tenants = tenants_with_entries_before(uow.session, cutoff)
    uow.rollback()
    removed = sum(purge_tenant(uow, tenant_id, cutoff, now) for tenant_id in tenants)
    if removed:
        log.info("retention purge", tenants=len(tenants), removed=removed, older_than=cutoff.isoformat())
    return PurgeResult(len(tenants), removed)
