"""audit: the append-only, tamper-evident security audit trail.

Entrypoints only: every audited event of the other services (services/audit/mapping.py,
``SUBSCRIPTIONS``) is handled by ``record``; ``search``, ``export_page`` and ``verify`` answer
the gateway and operations; a timer purges what is past retention.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventlet import tpool
from nameko.timer import timer

from contracts.audit import AuditQuery, ExportPageRequest
from contracts.envelope import EventEnvelope
from servicekit.base import ServiceBase
from servicekit.events import event_handler
from servicekit.idempotency import idempotent_handler
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging
from servicekit.rpc import rpc
from servicekit.validation import parse
from services.audit import retention, search, trail, verify
from services.audit.csv_export import entries_csv
from services.audit.database import AuditDatabase
from services.audit.mapping import SUBSCRIPTIONS
from services.audit.settings import AuditSettings

configure_logging("audit")


def subscribed_to_every_audited_event(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One event handler (one quorum queue) per audited (service, event type).

    The kit's handler: a failure (the database away, a lock timeout) gives the event back
    after a growing pause, and an event that keeps failing (one that is not an envelope at
    all) is parked in its dead-letter queue: no audit entry is silently lost.
    """
    for source, event_type in SUBSCRIPTIONS:
        fn = event_handler(source, str(event_type))(fn)
    return fn


class AuditService(ServiceBase):
    name = "audit"

    db = AuditDatabase(Path(__file__).parent / "adapters" / "migrations")

    @subscribed_to_every_audited_event
    @idempotent_handler()
    def record(self, envelope: EventEnvelope) -> None:
        trail.record_event(self.db, envelope)

    @rpc
    def search(self, query: dict[str, Any]) -> dict[str, Any]:
        return search.search(self.db, self.context, parse(AuditQuery, query)).to_wire()

    @rpc
    def export_page(self, request: dict[str, Any]) -> dict[str, Any]:
        return search.export_page(self.db, self.context, parse(ExportPageRequest, request),
                                  render=lambda rows, header: tpool.execute(entries_csv, rows, header)).to_wire()

    @rpc
    def verify(self, tenant_id: str | None = None) -> dict[str, Any]:
        tenant = parse_uuid(tenant_id, "tenant_id") if tenant_id is not None else None
        report = verify.verify_for(self.db.session, self.context.caller, tenant)
        self.db.rollback()
        return report.to_wire()

    @timer(interval=AuditSettings().purge_interval_seconds)
    def purge(self) -> None:
        retention.purge_expired(self.db, AuditSettings().retention_days)
