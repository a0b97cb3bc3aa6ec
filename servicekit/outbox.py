"""Transactional outbox: events are rows written in the state change's own transaction.

A relay publishes unpublished rows to ``<service>.events`` with publisher confirms and
then marks them published. A crash between the two publishes the row again on the next
pass: delivery is at-least-once, and handlers are idempotent on ``event_id``
(:mod:`servicekit.idempotency`). A rollback removes the row, so nothing is announced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from kombu import Exchange
from nameko.amqp.publish import Publisher
from opentelemetry.trace import SpanKind
from sqlalchemy.orm import Session

from contracts.context import CORRELATION_ID_KEY
from contracts.envelope import EventEnvelope, events_exchange
from servicekit.logging import get_logger
from servicekit.tables import outbox
from servicekit.tracing import continued_span, stored_trace_context, trace_headers

log = get_logger(__name__)

# kombu retries a publish while the broker is unreachable; the relay itself retries
# whatever is still unpublished on its next pass, so this can stay short.
RELAY_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}


def _outbox_row(envelope: EventEnvelope, now: datetime) -> dict[str, Any]:
    return {
        "event_id": envelope.event_id,
        "exchange": envelope.exchange,
        "routing_key": envelope.routing_key,
        "body": envelope.to_wire(),
        "correlation_id": envelope.correlation_id,
        "trace_context": stored_trace_context(),
        "created_at": now,
    }


def record_event(session: Session, envelope: EventEnvelope) -> None:
    """Add the event to the session's transaction; it is published only if that commits."""
    session.execute(outbox.insert().values(**_outbox_row(envelope, datetime.now(UTC))))


def record_events(session: Session, envelopes: Sequence[EventEnvelope]) -> None:
    """:func:`record_event` for many events in one round trip (an executemany)."""
    if envelopes:
        now = datetime.now(UTC)
        session.execute(outbox.insert(), [_outbox_row(envelope, now) for envelope in envelopes])


def declare_events_exchange(service: str) -> Exchange:
    return Exchange(events_exchange(service), type="topic", durable=True, auto_delete=False)


class OutboxRelay:
    """Publishes pending outbox rows. ``relay_once`` is one pass; the loop lives in the kit."""

    def __init__(self, engine: sa.Engine, amqp_uri: str, batch_size: int = 100) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.publisher = Publisher(
            amqp_uri, use_confirms=True, retry=True, retry_policy=RELAY_RETRY_POLICY
        )
        self._exchanges: dict[str, Exchange] = {}

    def _exchange(self, name: str) -> Exchange:
        if name not in self._exchanges:
            self._exchanges[name] = Exchange(name, type="topic", durable=True, auto_delete=False)
        return self._exchanges[name]

    def publish(self, row: Any) -> None:
        headers = {}
        if row.correlation_id:
            # nameko turns "nameko.*" headers into the handler's context data.
            headers[f"nameko.{CORRELATION_ID_KEY}"] = row.correlation_id
        exchange = self._exchange(row.exchange)
        # The publish is a span of the change's trace; subscribers continue from it.
        with continued_span(f"{row.exchange} publish", row.trace_context, SpanKind.PRODUCER, {
            "messaging.system": "rabbitmq", "messaging.operation.type": "send",
            "messaging.destination.name": row.exchange,
            "messaging.rabbitmq.destination.routing_key": row.routing_key,
            "messaging.message.id": str(row.event_id),
        }):
            headers.update(trace_headers())
            self.publisher.publish(
                row.body,
                exchange=exchange,
                routing_key=row.routing_key,
                declare=[exchange],
                extra_headers=headers,
                message_id=str(row.event_id),
            )

    def mark_published(self, connection: sa.Connection, ids: list[int]) -> None:
        connection.execute(
            outbox.update().where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC))
        )

    def relay_once(self, on_published: Callable[[Any], None] | None = None) -> int:
        """Publish one batch; returns how many rows were published and marked."""
        with self.engine.begin() as connection:
            query = (
                sa.select(outbox)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )
            if connection.dialect.name == "postgresql":
                # Competing instances take disjoint batches.
                query = query.with_for_update(skip_locked=True)
            rows = connection.execute(query).all()
            if not rows:
                return 0
            published: list[int] = []
            try:
                for row in rows:
                    self.publish(row)
                    published.append(row.id)
                    if on_published is not None:
                        on_published(row)
            except Exception as exc:
                log.warning("outbox publish failed", error=type(exc).__name__, pending=len(rows) - len(published))
                if not published:
                    raise
            self.mark_published(connection, published)
            return len(published)

    def backlog(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
