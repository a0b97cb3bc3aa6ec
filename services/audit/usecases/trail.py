"""Writing the trail: one entry per audited event, appended to its tenant's hash chain
(adapters/chain_store.py), the tenant tree projection kept current on the way."""

from __future__ import annotations

from contracts.envelope import EventEnvelope
from servicekit.db import UnitOfWork
from services.audit.adapters import tenant_tree
from services.audit.adapters.chain_store import append
from services.audit.adapters.models import AuditEntry
from services.audit.domain.audited_events import map_event, tenant_node, tenant_renamed


def record_event(uow: UnitOfWork, envelope: EventEnvelope) -> AuditEntry | None:
    """An event from another service: keep the tree projection current, then write its entry."""
    session = uow.session
    node = tenant_node(envelope)
    if node is not None:
        tenant_tree.add_tenant(session, node)
    renamed = tenant_renamed(envelope)
    if renamed is not None:
        tenant_tree.rename_tenant(session, *renamed)
    fields = map_event(envelope)
    entry = append(session, fields) if fields is not None else None
    uow.commit()
    return entry
