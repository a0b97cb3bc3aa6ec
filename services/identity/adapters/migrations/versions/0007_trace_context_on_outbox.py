"""trace context on outbox rows

Each event keeps the W3C trace context of the change that recorded it
(servicekit.tracing), so its publication, however much later, continues the trace
of the request that caused it.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from servicekit.kit_migrations import add_outbox_trace_context, drop_outbox_trace_context

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_trace_context()


def downgrade() -> None:
    drop_outbox_trace_context()
