"""request keys: Idempotency-Key of create requests (servicekit.request_keys)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'request_keys',
        sa.Column('scope', sa.String(200), nullable=False),
        sa.Column('key', sa.String(255), nullable=False),
        sa.Column('request_hash', sa.String(64), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'key'),
    )
    op.create_index('ix_request_keys_created_at', 'request_keys', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_request_keys_created_at', table_name='request_keys')
    op.drop_table('request_keys')
