"""invoice_owner_totals: what each invoice bills each owner, for the dashboard's unpaid totals

The dashboard asks, per page of partners, what each owes on unpaid invoices. Summing the
lines meant reading every line of the year (a sequential scan: ~120 ms at 290,000 lines);
an invoice's lines never change after issue, so their sum per owner is written once, with
them, and a page reads a few rows per unpaid invoice. Existing invoices are backfilled.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_owner_totals",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2).with_variant(sa.String(40), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("invoice_id", "owner_id"),
    )
    op.execute(
        "INSERT INTO invoice_owner_totals (invoice_id, owner_id, amount) "
        "SELECT l.invoice_id, coalesce(l.partner_id, i.distributor_id), sum(l.amount) "
        "FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
        "GROUP BY l.invoice_id, coalesce(l.partner_id, i.distributor_id)"
    )


def downgrade() -> None:
    op.drop_table("invoice_owner_totals")
