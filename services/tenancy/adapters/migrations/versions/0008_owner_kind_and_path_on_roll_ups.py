"""each roll-up row carries its owner's kind and path, for the amount and size sorts

A dashboard sorted by amount (or size) is best read by walking the roll-ups in that order,
for a distributor holding most partners, or by sorting its own partners, for a small one.
PostgreSQL could not tell the two apart: filtered on the tenant row (partner, under this
path) and joined to the roll-ups by their foreign key, it estimated that ~1 % of the
roll-ups survive the join (it cannot know that only owners have roll-ups), and sorted every
partner of a distributor that holds them all. Filtered on the roll-up row itself, the
estimate is the filter's, and the planner chooses. Both values never change once the
owner exists (a tenant is never moved in the tree).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('owner_rollups') as table:
        table.add_column(sa.Column('kind', sa.String(20), nullable=True))
        table.add_column(sa.Column('path', sa.String(2000), nullable=True))
    op.execute("""
        UPDATE owner_rollups SET
            kind = (SELECT kind FROM tenants WHERE tenants.id = owner_rollups.owner_id),
            path = (SELECT path FROM tenants WHERE tenants.id = owner_rollups.owner_id)""")
    with op.batch_alter_table('owner_rollups') as table:
        table.alter_column('kind', existing_type=sa.String(20), nullable=False)
        table.alter_column('path', existing_type=sa.String(2000), nullable=False)
    op.create_index('ix_owner_rollups_path', 'owner_rollups', ['path'],
                    postgresql_ops={'path': 'varchar_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_owner_rollups_path', table_name='owner_rollups')
    with op.batch_alter_table('owner_rollups') as table:
        table.drop_column('path')
        table.drop_column('kind')
