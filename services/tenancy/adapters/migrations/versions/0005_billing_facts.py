"""billing facts on accounts and owner roll-ups: the lists' billing status and amount

Billing announces each change of an account's bills (``account_billing_changed``, with a
version); tenancy keeps the newest facts on the account row and the sums on its owner's
roll-up, so every filter and sort of a list, billing status and amount included, is one
query here. Indexes serve the amount order within an owner and the Due/Overdue filters.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as table:
        table.add_column(sa.Column('billing_version', sa.Integer(), nullable=False, server_default='0'))
        table.add_column(sa.Column('billing_bills', sa.Integer(), nullable=False, server_default='0'))
        table.add_column(sa.Column('billing_amount_due', sa.Numeric(14, 2), nullable=False, server_default='0'))
        table.add_column(sa.Column('billing_currency', sa.String(3), nullable=True))
        table.add_column(sa.Column('billing_overdue_from', sa.Date(), nullable=True))
    op.create_index('ix_accounts_owner_amount', 'accounts', ['owner_id', 'billing_amount_due', 'id'])
    op.create_index('ix_accounts_owner_overdue_from', 'accounts', ['owner_id', 'billing_overdue_from'])
    with op.batch_alter_table('owner_rollups') as table:
        table.add_column(sa.Column('billing_owed', sa.Numeric(16, 2), nullable=False, server_default='0'))
        table.add_column(sa.Column('billing_owing', sa.Integer(), nullable=False, server_default='0'))
        table.add_column(sa.Column('billing_currency', sa.String(3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('owner_rollups') as table:
        table.drop_column('billing_currency')
        table.drop_column('billing_owing')
        table.drop_column('billing_owed')
    op.drop_index('ix_accounts_owner_overdue_from', 'accounts')
    op.drop_index('ix_accounts_owner_amount', 'accounts')
    with op.batch_alter_table('accounts') as table:
        for column in ('billing_overdue_from', 'billing_currency', 'billing_amount_due', 'billing_bills',
                       'billing_version'):
            table.drop_column(column)
