"""billing_accounts.billing_version: the count of changes to an account's bills

Each bill issued or paid that includes an account raises its version by one and announces
``account_billing_changed`` with it, so a reader (tenancy's lists) keeps the newest facts
whatever order the announcements arrive in.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('billing_accounts', sa.Column('billing_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    op.drop_column('billing_accounts', 'billing_version')
