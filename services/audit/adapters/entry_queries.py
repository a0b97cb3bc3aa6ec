"""Reading the trail: the SQL of a caller's scope, the search filters, and the pages.

Newest first, ordered by (occurred_at, id). A caller sees the entries of its tenant and of
every tenant below it: entries carry their tenant's materialised path, so a subtree is one
index range; an entry written before its tenant reached the projection has no path and is
found through the projection instead (docs/audit.md, "Scope").
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.audit import TOTAL_CAP, Activity, AuditEntryView, AuditFilters, AuditStatus
from contracts.context import Caller
from servicekit.text_search import contains_text
from servicekit.types import UtcDateTime
from services.audit.adapters import tenant_tree
from services.audit.adapters.models import AuditEntry, AuditTenant
from services.audit.domain.access import decode_cursor, encode_cursor, sees_everything, subtree_range

E = AuditEntry
NEWEST_FIRST = (E.occurred_at.desc(), E.id.desc())
OLDEST_FIRST = (E.occurred_at, E.id)


def scope_clauses(session: Session, caller: Caller) -> list[Any]:
    """What the caller may see: its subtree, and only the accounts that exist for it."""
    clauses: list[Any] = []
    if caller.accessible_accounts is not None:
        clauses.append(sa.or_(E.account_id.is_(None), E.account_id.in_(caller.accessible_accounts)))
    if sees_everything(caller):
        return clauses
    assert caller.tenant_id is not None
    path = tenant_tree.path_of(session, caller.tenant_id)
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


def subtree_tenants(session: Session, caller: Caller) -> list[uuid.UUID] | None:
    """The tenants whose trails the caller reads: None for all of them (operators)."""
    if sees_everything(caller):
        return None
    assert caller.tenant_id is not None
    path = tenant_tree.path_of(session, caller.tenant_id)
    if path is None:
        return [caller.tenant_id]
    low, high = subtree_range(path)
    return list(session.execute(
        sa.select(AuditTenant.id).where(AuditTenant.path >= low, AuditTenant.path < high)).scalars())


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


def after(cursor: str | None, oldest_first: bool = False) -> list[Any]:
    if cursor is None:
        return []
    occurred_at, entry_id = decode_cursor(cursor)
    # Typed binds: the time must be written the way the column stores it (SQLite compares text).
    position = sa.tuple_(sa.literal(occurred_at, UtcDateTime()), sa.literal(entry_id, sa.BigInteger()))
    key = sa.tuple_(E.occurred_at, E.id)
    return [key > position if oldest_first else key < position]


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


def page_of(session: Session, where: list[Any], limit: int, offset: int = 0,
            oldest_first: bool = False) -> tuple[list[Any], str | None]:
    """Up to ``limit`` entries and the cursor of the next page (None when there is none)."""
    order = OLDEST_FIRST if oldest_first else NEWEST_FIRST
    rows = list(session.execute(
        sa.select(*VIEW_COLUMNS).where(*where).order_by(*order).offset(offset).limit(limit + 1)
    ))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].occurred_at, rows[-1].id) if more else None


def capped_total(session: Session, where: list[Any]) -> int:
    matching = sa.select(E.id).where(*where).limit(TOTAL_CAP + 1).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(matching)).scalar_one())
