"""Reading the trail: search (a page by number or after a cursor) and the CSV export's chunks.

Newest first, ordered by (occurred_at, id). A caller sees the entries of its tenant and of
every tenant below it: entries carry their tenant's materialised path, so a subtree is one
index range; an entry written before its tenant reached the projection has no path and is
found through the projection instead (docs/audit.md, "Scope").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.audit import (
    TOTAL_CAP,
    Activity,
    AuditEntryView,
    AuditExported,
    AuditFilters,
    AuditPage,
    AuditQuery,
    AuditStatus,
    ExportPage,
    ExportPageRequest,
)
from contracts.context import OPERATOR_TENANT_ID
from contracts.events import AuditEvent
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.text_search import contains_text
from servicekit.types import UtcDateTime
from services.audit.adapters import tenant_tree as projection
from services.audit.adapters.models import AuditEntry, AuditTenant
from services.audit.domain.access import authorise_reader, decode_cursor, encode_cursor, sees_everything, subtree_range
from services.audit.domain.audited_events import map_event
from services.audit.domain.csv_export import entries_csv
from services.audit.usecases.trail import append

E = AuditEntry
NEWEST_FIRST = (E.occurred_at.desc(), E.id.desc())


def scope_clauses(session: Session, ctx: CallContext) -> list[Any]:
    """What the caller may see: its subtree, and only the accounts that exist for it."""
    caller = ctx.caller
    authorise_reader(caller)
    clauses: list[Any] = []
    if caller.accessible_accounts is not None:
        clauses.append(sa.or_(E.account_id.is_(None), E.account_id.in_(caller.accessible_accounts)))
    if sees_everything(caller):
        return clauses
    assert caller.tenant_id is not None
    path = projection.path_of(session, caller.tenant_id)
    if path is None:  # the caller's tenant is not in the projection yet: its own trail only
        return [*clauses, E.tenant_id == caller.tenant_id]
    low, high = subtree_range(path)
    placed = sa.and_(E.tenant_path >= low, E.tenant_path < high)
    # Entries written before their tenant was in the tree have no path: find those tenants first
    # (a small partial index; normally none), so the common query stays one index range.
    waiting = list(session.execute(
        sa.select(AuditTenant.id).where(AuditTenant.path >= low, AuditTenant.path < high,
                                        AuditTenant.id.in_(sa.select(E.tenant_id).where(E.tenant_path.is_(None))))
    ).scalars())
    if not waiting:
        return [*clauses, placed]
    return [*clauses, sa.or_(placed, sa.and_(E.tenant_path.is_(None), E.tenant_id.in_(waiting)))]


def filter_clauses(filters: AuditFilters) -> list[Any]:
    clauses: list[Any] = []
    if filters.date_from is not None:
        clauses.append(E.occurred_at >= filters.date_from)
    if filters.date_to is not None:
        clauses.append(E.occurred_at < filters.date_to)
    if filters.activity:
        clauses.append(E.activity.in_([a.value for a in filters.activity]))
    if filters.status is not None:
        clauses.append(E.status == filters.status.value)
    if filters.account is not None:
        try:
            clauses.append(E.account_id == uuid.UUID(filters.account))
        except ValueError:
            clauses.append(contains_text(filters.account, E.account_name))
    if filters.performed_by is not None:
        clauses.append(sa.func.lower(E.performed_by) == filters.performed_by.lower())
    return clauses


def after(cursor: str | None) -> list[Any]:
    if cursor is None:
        return []
    occurred_at, entry_id = decode_cursor(cursor)
    # Typed binds: the time must be written the way the column stores it (SQLite compares text).
    return [sa.tuple_(E.occurred_at, E.id) < sa.tuple_(sa.literal(occurred_at, UtcDateTime()),
                                                       sa.literal(entry_id, sa.BigInteger()))]


# Plain rows, not ORM objects: an export reads 5,000 at a time.
VIEW_COLUMNS = (E.id, E.event_id, E.occurred_at, E.activity, E.status, E.account_id, E.account_name, E.performed_by,
                E.ip, E.user_agent, E.description, E.tenant_id, E.correlation_id)


def entry_view(row: Any) -> AuditEntryView:
    return AuditEntryView(
        id=row.event_id, occurred_at=row.occurred_at, activity=Activity(row.activity),
        status=AuditStatus(row.status), account_id=row.account_id, account_name=row.account_name,
        performed_by=row.performed_by, ip=row.ip, user_agent=row.user_agent, description=row.description,
        tenant_id=row.tenant_id, correlation_id=row.correlation_id,
    )


def page_of(session: Session, where: list[Any], limit: int, offset: int = 0) -> tuple[list[Any], str | None]:
    """Up to ``limit`` entries and the cursor of the next page (None when there is none)."""
    rows = list(session.execute(
        sa.select(*VIEW_COLUMNS).where(*where).order_by(*NEWEST_FIRST).offset(offset).limit(limit + 1)
    ))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].occurred_at, rows[-1].id) if more else None


def capped_total(session: Session, where: list[Any]) -> int:
    matching = sa.select(E.id).where(*where).limit(TOTAL_CAP + 1).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(matching)).scalar_one())


def search(uow: UnitOfWork, ctx: CallContext, query: AuditQuery) -> AuditPage:
    session = uow.session
    where = [*scope_clauses(session, ctx), *filter_clauses(query.filters)]
    offset = 0 if query.cursor else (query.page - 1) * query.page_size
    rows, next_cursor = page_of(session, [*where, *after(query.cursor)], query.page_size, offset)
    total = capped_total(session, where)
    uow.rollback()
    return AuditPage(items=[entry_view(row) for row in rows], page=query.page, page_size=query.page_size,
                     total=min(total, TOTAL_CAP), total_capped=total > TOTAL_CAP, next_cursor=next_cursor)


Render = Callable[[list[Any], bool], str]


def export_page(uow: UnitOfWork, ctx: CallContext, request: ExportPageRequest, now: datetime | None = None,
                render: Render = entries_csv) -> ExportPage:
    """One chunk of CSV. The first chunk (no cursor) also records the export in the caller's
    trail, once per ``export_id``, and announces it (``audit_exported``).

    ``render`` writes the CSV text; the service runs it off its event loop (5,000 rows is
    CPU work that would hold every other worker back, docs/runtime-traps.md §10).
    """
    session = uow.session
    where = [*scope_clauses(session, ctx), *filter_clauses(request.filters), *after(request.cursor)]
    rows, next_cursor = page_of(session, where, request.limit)
    uow.rollback()  # reading ends here: the record below is a write transaction of its own
    text = render(rows, request.cursor is None)
    if request.cursor is None:
        record_export(uow, ctx, request, now or datetime.now(UTC))
    return ExportPage(csv=text, rows=len(rows), next_cursor=next_cursor)


def record_export(uow: UnitOfWork, ctx: CallContext, request: ExportPageRequest, now: datetime) -> None:
    tenant_id = ctx.caller.tenant_id or OPERATOR_TENANT_ID
    payload = AuditExported(export_id=request.export_id, tenant_id=tenant_id, filters=request.filters)
    envelope = uow.emit(AuditEvent.AUDIT_EXPORTED, payload.to_wire(), tenant_id=tenant_id)
    fields = map_event(envelope)
    assert fields is not None
    # The entry's id is the export's: a retried first chunk finds it and records nothing more.
    if append(uow.session, replace(fields, event_id=request.export_id), now) is None:
        uow.rollback()
        return
    uow.commit()
