"""partner counts kept on the roll-ups; partner search and name order served by indexes

The dashboard showed "N of M" partners by counting a distributor's subtree on every page
(a scan of every tenant below it: 100,000 rows at scale 1). The count is now kept on the
roll-up row of each distributor above a partner (``partners_below``), added to when a
partner is created (partners are never deleted; an empty distributor's row goes with it).
Beside it, ``partners_owing_below`` counts those of them with an account that owes (the
"With exceptions" filter's total), changed when a partner's ``billing_owing`` leaves or
reaches zero.

A search on the partner list used the trigram indexes over every tenant, accounts
included: "north" found 12,000 rows to keep 119 partners. Partial trigram indexes over
partners alone serve it, and ``(kind, lower(name), id)`` walks partners in the list's
order so the first page stops after a page's worth of rows. ``owner_rollups (billing_owed,
owner_id)`` does the same for the amount sort (at 10,000 partners it sorted them all: 14 ms).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('owner_rollups') as table:
        table.add_column(sa.Column('partners_below', sa.Integer(), nullable=False, server_default='0'))
        table.add_column(sa.Column('partners_owing_below', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_tenants_kind_name', 'tenants', ['kind', sa.text('lower(name)'), 'id'])
    op.create_index('ix_owner_rollups_owed', 'owner_rollups', ['billing_owed', 'owner_id'])
    op.execute("""
        UPDATE owner_rollups SET partners_below = (
            SELECT count(*) FROM tenants p, tenants o
            WHERE o.id = owner_rollups.owner_id AND p.kind = 'partner' AND p.path LIKE o.path || '%' AND p.id <> o.id)
        WHERE owner_id IN (SELECT id FROM tenants WHERE kind = 'distributor')""")
    op.execute("""
        UPDATE owner_rollups SET partners_owing_below = (
            SELECT count(*) FROM tenants p, tenants o, owner_rollups pr
            WHERE o.id = owner_rollups.owner_id AND p.kind = 'partner' AND p.path LIKE o.path || '%'
              AND p.id <> o.id AND pr.owner_id = p.id AND pr.billing_owing > 0)
        WHERE owner_id IN (SELECT id FROM tenants WHERE kind = 'distributor')""")
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql' and _has_pg_trgm(bind):
        op.execute("CREATE INDEX ix_tenants_partner_name_trgm ON tenants USING gin (lower(name) gin_trgm_ops) "
                   "WHERE kind = 'partner'")
        op.execute("CREATE INDEX ix_tenants_partner_email_trgm ON tenants USING gin (lower(email) gin_trgm_ops) "
                   "WHERE kind = 'partner'")


def _has_pg_trgm(bind: sa.engine.Connection) -> bool:
    """pg_trgm was created by 0002 where it is permitted; without it searches scan instead."""
    return bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first() is not None


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_tenants_partner_name_trgm')
        op.execute('DROP INDEX IF EXISTS ix_tenants_partner_email_trgm')
    op.drop_index('ix_owner_rollups_owed', table_name='owner_rollups')
    op.drop_index('ix_tenants_kind_name', table_name='tenants')
    with op.batch_alter_table('owner_rollups') as table:
        table.drop_column('partners_owing_below')
        table.drop_column('partners_below')
