"""Microsoft/Google sign-in: the provider subject linked to a user, and started sign-ins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('sso_provider', sa.String(20), nullable=True))
        batch.add_column(sa.Column('sso_subject', sa.String(255), nullable=True))
        batch.create_unique_constraint('uq_users_sso_subject', ['sso_provider', 'sso_subject'])
    op.create_table(
        'sso_attempts',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('state_hash', sa.String(64), nullable=False),
        sa.Column('browser_key_hash', sa.String(64), nullable=False),
        sa.Column('provider', sa.String(20), nullable=False),
        sa.Column('nonce', sa.String(100), nullable=False),
        sa.Column('code_verifier_sealed', sa.String(400), nullable=False),
        sa.Column('next_path', sa.String(2000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.Uuid(), nullable=True),
        sa.Column('ticket_hash', sa.String(64), nullable=True),
        sa.Column('ticket_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ticket_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('state_hash'),
        sa.UniqueConstraint('ticket_hash'),
    )
    op.create_index('ix_sso_attempts_created_at', 'sso_attempts', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_sso_attempts_created_at', table_name='sso_attempts')
    op.drop_table('sso_attempts')
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('uq_users_sso_subject', type_='unique')
        batch.drop_column('sso_subject')
        batch.drop_column('sso_provider')
