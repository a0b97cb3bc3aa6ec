"""The claims in ``report_runs``: one row per (tenant, type, period start), taken at most once.

Each scheduled thing (a report, Backup Radar's daily CSV and health, the password
reminders) is claimed in the same transaction that queues its mail or webhooks: of two
instances, or of a run before and after a restart, exactly one sends it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from servicekit.db import UnitOfWork
from services.notify.adapters.models import ReportRun
from services.notify.adapters.rows import insert_once
from services.notify.domain.periods import Period


def claimed(uow: UnitOfWork, tenant_id: uuid.UUID, report_type: str, period: Period) -> bool:
    """Whether this (tenant, type, period) was claimed already."""
    return uow.session.execute(
        sa.select(ReportRun.id).where(ReportRun.tenant_id == tenant_id, ReportRun.report_type == report_type,
                                      ReportRun.period_start == period.start)
    ).first() is not None


def claim(uow: UnitOfWork, tenant_id: uuid.UUID, report_type: str, period: Period, now: datetime,
          recipients: int = 0, rows: int = 0) -> uuid.UUID | None:
    """The new run's id, or None when this (tenant, type, period) was claimed before."""
    run_id = uuid.uuid4()
    won = insert_once(uow.session, ReportRun.__table__, {  # type: ignore[arg-type]
        "id": run_id, "tenant_id": tenant_id, "report_type": report_type, "period_start": period.start,
        "period_end": period.end, "recipients": recipients, "rows": rows, "created_at": now,
    })
    return run_id if won else None
