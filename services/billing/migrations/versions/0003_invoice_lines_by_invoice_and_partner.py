"""invoice lines by (invoice, partner), covering the amount: the dashboard's unpaid totals

The dashboard asks, per page of partners, what each owes on unpaid invoices. Unpaid
invoices are few (the latest consolidated bill, open annual ones); this index takes each
of them straight to the page's partners' lines and answers from the index alone
(PostgreSQL's INCLUDE) instead of reading every line of the year.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_invoice_lines_invoice_partner", "invoice_lines", ["invoice_id", "partner_id"],
                    postgresql_include=["account_id", "amount"])


def downgrade() -> None:
    op.drop_index("ix_invoice_lines_invoice_partner", table_name="invoice_lines")
