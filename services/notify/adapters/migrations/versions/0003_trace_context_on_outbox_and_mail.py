"""trace context on outbox rows and queued mail

Each event and each queued mail keeps the W3C trace context of the change that made
it (servicekit.tracing), so its publication and its delivery, however much later,
continue the trace of the request that caused them.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.kit_migrations import add_outbox_trace_context, drop_outbox_trace_context

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_trace_context()
    with op.batch_alter_table('outgoing_mail') as table:
        table.add_column(sa.Column('trace_context', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outgoing_mail') as table:
        table.drop_column('trace_context')
    drop_outbox_trace_context()
