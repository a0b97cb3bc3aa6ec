"""The counts behind sign-in throttling and mail-request limits (table ``sign_in_throttle``,
one row per key; the rules are in :mod:`services.identity.domain.throttle`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from servicekit.db import UnitOfWork
from services.identity.adapters.models import SignInThrottle
from services.identity.domain.throttle import THROTTLE_WINDOW, Throttle


def throttle_rows(uow: UnitOfWork, keys: Iterable[str], lock: bool = False) -> dict[str, SignInThrottle]:
    """The rows of ``keys`` that exist; ``lock``: claimed, skipping rows another attempt holds."""
    query = sa.select(SignInThrottle).where(SignInThrottle.key.in_(sorted(keys)))
    if lock:
        query = (query.order_by(SignInThrottle.key).with_for_update(skip_locked=True)
                 .execution_options(populate_existing=True))
    return {row.key: row for row in uow.session.execute(query).scalars()}


def counts(rows: dict[str, SignInThrottle]) -> dict[str, Throttle]:
    return {key: Throttle(row.failures, row.last_failure_at) for key, row in rows.items()}


def count_one(uow: UnitOfWork, key: str, now: datetime) -> None:
    """One atomic upsert: concurrent counts for the same key all count, none collide."""
    dialect = uow.session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    table = SignInThrottle.__table__
    stmt = insert(table).values(key=key, failures=1, last_failure_at=now)
    # A count whose last entry is older than the window starts again: old mistakes fade.
    stale = table.c.last_failure_at < now - THROTTLE_WINDOW
    uow.session.execute(stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": sa.case((stale, 1), else_=table.c.failures + 1), "last_failure_at": now},
    ))


def forget(uow: UnitOfWork, keys: Iterable[str]) -> None:
    """Start these counts again (their owner proved who they are)."""
    uow.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.key.in_(list(keys))))
