"""Tables every service database has beside its own: the outbox and processed events.

They live in their own MetaData so each service's alembic environment includes them
(``target_metadata = [service_metadata, kit_metadata]``).
"""

from __future__ import annotations

import sqlalchemy as sa

from servicekit.types import UtcDateTime

kit_metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    kit_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("exchange", sa.String(100), nullable=False),
    sa.Column("routing_key", sa.String(100), nullable=False),
    sa.Column("body", sa.JSON(), nullable=False),
    sa.Column("correlation_id", sa.String(100), nullable=True),
    # The W3C trace context of the change (servicekit.tracing): the event continues its trace.
    sa.Column("trace_context", sa.JSON(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("published_at", UtcDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(500), nullable=True),
)
sa.Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

processed_events = sa.Table(
    "processed_events",
    kit_metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("handler", sa.String(200), primary_key=True),
    sa.Column("processed_at", UtcDateTime(), nullable=False),
)
