"""Small SQL helpers of the notify service."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_once(session: Session, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert the row unless a unique key already holds it; True when this call inserted it.

    The claim of a scheduled report and the one webhook message per cause both rest on it:
    of two instances inserting at once, exactly one gets True.
    """
    dialect = session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING rather than rowcount: psycopg 3 reports -1 for INSERT … ON CONFLICT.
    first_key = next(iter(table.primary_key.columns))
    return session.execute(stmt.returning(first_key)).first() is not None


def page_of(session: Session, query: sa.Select[Any], page: int, page_size: int) -> tuple[list[Any], int]:
    """One page of ``query``'s rows (scalars) and the total count."""
    total = session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = list(session.scalars(query.limit(page_size).offset((page - 1) * page_size)))
    return rows, int(total)
