"""Idempotent event handling: the dedupe row and the side effect commit together.

``claim`` inserts (event_id, handler) into ``processed_events`` in the handler's own
transaction. A redelivered event finds its row and is skipped; two instances handling
the same event at once serialise on the primary key, and the loser sees the winner's row.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from contracts.envelope import EventEnvelope
from servicekit.logging import get_logger
from servicekit.tables import processed_events

log = get_logger(__name__)

T = TypeVar("T")


def claim(session: Session, event_id: uuid.UUID, handler: str) -> bool:
    """True when this (event, handler) was not processed before; the claim commits with the work."""
    values = {"event_id": event_id, "handler": handler, "processed_at": datetime.now(UTC)}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(processed_events).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite_insert(processed_events).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported dialect {dialect}")
    # RETURNING rather than rowcount: psycopg 3 reports -1 for INSERT … ON CONFLICT here.
    return session.execute(stmt.returning(processed_events.c.event_id)).first() is not None


def processed(session: Session, event_id: uuid.UUID, handler: str) -> bool:
    """Whether this (event, handler) was claimed before (a plain read: it takes no lock)."""
    return session.execute(
        sa.select(processed_events.c.event_id).where(processed_events.c.event_id == event_id,
                                                     processed_events.c.handler == handler)
    ).first() is not None


def idempotent_handler(db_attr: str = "db", gather: Callable[[Any, EventEnvelope], Any] | None = None
                       ) -> Callable[[Callable[..., T]], Callable[..., T | None]]:
    """Decorate a nameko event handler taking an :class:`EventEnvelope`.

    The wrapper parses the envelope, binds its correlation id for logging, claims the
    event in the unit of work found at ``self.<db_attr>``, runs the handler and commits.

    The claim opens the write transaction, so the handler itself makes no remote call (no
    RPC, no SMTP, no HTTP): a lock held across one stalls every other writer of the
    database for as long as the other side takes. What it needs from elsewhere comes from
    ``gather(self, envelope)``, which runs first, outside any transaction (after a check
    that the event is not a redelivery), and whose result is passed to the handler:
    ``handler(self, envelope, gathered)``. A failing ``gather`` claims nothing.
    """

    def decorate(fn: Callable[..., T]) -> Callable[..., T | None]:
        handler_name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(self: Any, body: Any) -> T | None:
            envelope = EventEnvelope.from_wire(body)
            structlog.contextvars.bind_contextvars(
                correlation_id=envelope.correlation_id,
                event_id=str(envelope.event_id),
                event_type=envelope.type,
            )
            uow = getattr(self, db_attr)
            extra: tuple[Any, ...] = ()
            if gather is not None:
                seen = processed(uow.session, envelope.event_id, handler_name)
                uow.rollback()  # nothing stays open over gather's remote calls
                if seen:
                    log.info("duplicate event skipped", handler=handler_name)
                    return None
                extra = (gather(self, envelope),)
            if not claim(uow.session, envelope.event_id, handler_name):
                log.info("duplicate event skipped", handler=handler_name)
                uow.rollback()
                return None
            result = fn(self, envelope, *extra)
            uow.commit()
            return result

        return wrapper

    return decorate
