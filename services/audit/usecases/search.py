"""Reading the trail: search (a page by number or after a cursor) and the CSV export's chunks,
newest first, within the caller's subtree (the SQL: adapters/entry_queries.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from contracts.audit import TOTAL_CAP, AuditExported, AuditPage, AuditQuery, ExportPage, ExportPageRequest
from contracts.context import OPERATOR_TENANT_ID
from contracts.events import AuditEvent
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.audit.adapters.chain_store import append
from services.audit.adapters.entry_queries import (
    after,
    capped_total,
    entry_view,
    filter_clauses,
    page_of,
    scope_clauses,
)
from services.audit.domain.access import authorise_reader
from services.audit.domain.audited_events import map_event
from services.audit.domain.csv_export import entries_csv


def search(uow: UnitOfWork, ctx: CallContext, query: AuditQuery) -> AuditPage:
    session = uow.session
    authorise_reader(ctx.caller)
    where = [*scope_clauses(session, ctx.caller), *filter_clauses(query.filters)]
    offset = 0 if query.cursor else (query.page - 1) * query.page_size
    oldest_first = query.sort == "date"
    rows, next_cursor = page_of(session, [*where, *after(query.cursor, oldest_first)], query.page_size, offset,
                                oldest_first)
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
    authorise_reader(ctx.caller)
    where = [*scope_clauses(session, ctx.caller), *filter_clauses(request.filters), *after(request.cursor)]
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
