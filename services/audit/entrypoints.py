"""audit: the append-only, tamper-evident security audit trail.

Entrypoints only: every audited event of the other services (domain/audited_events.py,
``SUBSCRIPTIONS``) is recorded by one handler method, ``record``; ``search``, ``export_page``
and ``verify`` answer the gateway and operations; a timer purges what is past retention.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from contracts.audit import AuditQuery, ExportPageRequest
from contracts.envelope import EventEnvelope
from servicekit.base import ServiceBase
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging
from servicekit.rpc import rpc
from servicekit.subscriptions import On, subscribe
from servicekit.timers import every
from servicekit.validation import parse
from services.audit.adapters.csv_rendering import entries_csv_off_the_hub
from services.audit.adapters.database import AuditDatabase
from services.audit.domain.audited_events import SUBSCRIPTIONS
from services.audit.settings import AuditSettings
from services.audit.usecases import retention, search, trail, verify

configure_logging("audit")


def record_event(service: AuditService, envelope: EventEnvelope) -> None:
    trail.record_event(service.db, envelope)


# Every audited event of the other services: one queue per type (evt-<source>-<type>--audit.record),
# all consumed by the method ``record``. The rows sharing it must be one and the same.
RECORD = On(record_event, method="record")
EVENT_HANDLERS: dict[StrEnum, On] = {event: RECORD for event in SUBSCRIPTIONS}


@subscribe(EVENT_HANDLERS)
class AuditService(ServiceBase):
    name = "audit"

    db = AuditDatabase(Path(__file__).parent / "adapters" / "migrations")

    @rpc
    def search(self, query: dict[str, Any]) -> dict[str, Any]:
        return search.search(self.db, self.context, parse(AuditQuery, query)).to_wire()

    @rpc
    def export_page(self, request: dict[str, Any]) -> dict[str, Any]:
        return search.export_page(self.db, self.context, parse(ExportPageRequest, request),
                                  render=entries_csv_off_the_hub).to_wire()

    @rpc
    def verify(self, tenant_id: str | None = None) -> dict[str, Any]:
        tenant = parse_uuid(tenant_id, "tenant_id") if tenant_id is not None else None
        return verify.verify_trail(self.db, self.context, tenant).to_wire()

    @every(lambda: AuditSettings().purge_interval_seconds)
    def purge(self) -> None:
        retention.purge_expired(self.db, AuditSettings().retention_days)
