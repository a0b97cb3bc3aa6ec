"""Dialect-aware statements the billing use cases share (PostgreSQL and SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.billing.domain.money import cents


def insert_for(session: Session, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(table)
    if dialect == "sqlite":
        return sqlite_insert(table)
    raise RuntimeError(f"unsupported dialect {dialect}")  # pragma: no cover


def insert_ignore(session: Session, table: Any, values: dict[str, Any]) -> None:
    session.execute(insert_for(session, table).values(**values).on_conflict_do_nothing())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def utc_day(moment: datetime | None) -> date | None:
    return moment.astimezone(UTC).date() if moment is not None else None


def money(value: Any) -> Decimal:
    """A SUM read back: exact on PostgreSQL, a float or text on SQLite; to the cent either way."""
    return cents(Decimal(str(value))) if value is not None else cents(Decimal(0))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
