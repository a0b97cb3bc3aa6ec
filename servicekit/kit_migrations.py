"""Steps of the kit's own tables (the outbox), shared by every service's migrations.

Every service database holds the kit's tables, so a change to them is one migration per
service. The step is written once here and each service's migration calls it. A released
step never changes (a database that ran it must stay as it is); a new change is a new step.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def add_outbox_trace_context() -> None:
    """2026-12: each event keeps the W3C trace context of the change (servicekit.tracing)."""
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("trace_context", sa.JSON(), nullable=True))


def drop_outbox_trace_context() -> None:
    with op.batch_alter_table("outbox") as table:
        table.drop_column("trace_context")
