"""audit trail: entries, chain heads, tenant projection; append-only guards; restricted role

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:31:49.518602

Beside the tables (services/audit/adapters/models.py) this revision makes the trail append-only:

- a trigger refuses every UPDATE and DELETE of ``audit_entries`` (and TRUNCATE on
  PostgreSQL), except the deletes of the retention purge: on PostgreSQL those run inside the
  SECURITY DEFINER function ``audit_purge``, which opens the way with a transaction-local
  setting; on SQLite inside a transaction that holds a row of ``audit_purge_gate``;
- on PostgreSQL, the role ``audit_writer`` (``AUDIT_DB_WRITER_ROLE``) may only INSERT and
  SELECT entries, keep the chain heads, the tenant projection and the kit tables, and call
  ``audit_purge``. It is NOLOGIN unless ``AUDIT_DB_WRITER_PASSWORD`` is set when this
  migration runs; a login role may also be made a member of it (docs/audit.md).
"""

import os
import re
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPERATOR_TENANT_ID = '00000000-0000-4000-8000-000000000001'  # contracts.context.OPERATOR_TENANT_ID
PATH = sa.String(length=2000).with_variant(sa.String(length=2000, collation='C'), 'postgresql')
MIN_PURGE_AGE = "interval '1 day'"


def _writer_role() -> str:
    role = os.environ.get('AUDIT_DB_WRITER_ROLE', 'audit_writer')
    if not re.fullmatch(r'[a-z_][a-z0-9_]{0,62}', role):
        raise ValueError('AUDIT_DB_WRITER_ROLE must be a plain lower-case SQL name')
    return role


def upgrade() -> None:
    op.create_table('audit_chain_heads',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('anchor_seq', sa.BigInteger(), nullable=False),
    sa.Column('anchor_hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_path', PATH, nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('account_name', sa.String(length=200), nullable=True),
    sa.Column('performed_by', sa.String(length=320), nullable=True),
    sa.Column('actor_user_id', sa.Uuid(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('correlation_id', sa.String(length=100), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("status IN ('completed', 'failed')", name='ck_audit_entries_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id'),
    sa.UniqueConstraint('tenant_id', 'seq', name='uq_audit_entries_chain')
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_account_time', ['account_id', 'occurred_at', 'id'], unique=False)
        # INCLUDE (PostgreSQL): a subtree's count of one activity, or of failures, reads the index only.
        batch_op.create_index('ix_audit_entries_activity_time', ['activity', 'occurred_at', 'id'], unique=False, postgresql_include=['tenant_path'])
        batch_op.create_index('ix_audit_entries_failed_time', ['occurred_at', 'id'], unique=False, postgresql_where=sa.text("status = 'failed'"), sqlite_where=sa.text("status = 'failed'"), postgresql_include=['tenant_path', 'activity'])
        batch_op.create_index('ix_audit_entries_path_time', ['tenant_path', 'occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_entries_performer_time', [sa.text('lower(performed_by)'), 'occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_entries_time', ['occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_entries_unplaced', ['tenant_id'], unique=False, postgresql_where=sa.text('tenant_path IS NULL'), sqlite_where=sa.text('tenant_path IS NULL'))

    op.create_table('audit_purge_gate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    audit_tenants = op.create_table('audit_tenants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('path', PATH, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_tenants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_tenants_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_audit_tenants_path', ['path'], unique=False)
    # The root of the tree is known from the start (contracts.context.OPERATOR_TENANT_ID).
    op.bulk_insert(audit_tenants, [{'id': uuid.UUID(OPERATOR_TENANT_ID), 'parent_id': None, 'kind': 'operator',
                                    'name': 'Operator', 'path': f'/{OPERATOR_TENANT_ID}/'}])

    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_name_index()
        _postgresql_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    op.execute("""
        CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END
    """)
    op.execute("""
        CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
        WHEN NOT EXISTS (SELECT 1 FROM audit_purge_gate)
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END
    """)


def _postgresql_name_index() -> None:
    """"Account name contains …" as an index scan (pg_trgm); without the extension it still works,
    as a filtered scan."""
    op.execute("""
        DO $$
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'pg_trgm is not available: account name filters will scan';
        END $$
    """)
    op.execute("""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
                CREATE INDEX ix_audit_entries_account_name_trgm ON audit_entries
                    USING gin (account_name gin_trgm_ops);
            END IF;
        END $$
    """)


def _postgresql_guards() -> None:
    op.execute("""
        CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('audit.purging', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("""
        CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
        FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
    """)
    op.execute("""
        CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()
    """)
    # The only way entries leave: a prefix of one tenant's chain, all older than the cutoff,
    # and the cutoff at least a day in the past.
    op.execute(f"""
        CREATE FUNCTION audit_purge(p_tenant uuid, p_upto bigint, p_cutoff timestamptz) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        DECLARE removed bigint;
        BEGIN
            IF p_cutoff > now() - {MIN_PURGE_AGE} THEN
                RAISE EXCEPTION 'audit_purge: the cutoff must be at least a day old';
            END IF;
            IF EXISTS (SELECT 1 FROM audit_entries
                       WHERE tenant_id = p_tenant AND seq <= p_upto AND occurred_at >= p_cutoff) THEN
                RAISE EXCEPTION 'audit_purge: only entries older than the cutoff may go';
            END IF;
            PERFORM set_config('audit.purging', 'on', true);
            DELETE FROM audit_entries WHERE tenant_id = p_tenant AND seq <= p_upto;
            GET DIAGNOSTICS removed = ROW_COUNT;
            PERFORM set_config('audit.purging', 'off', true);
            RETURN removed;
        END $$
    """)  # noqa: S608 (constants only)
    op.execute("REVOKE ALL ON FUNCTION audit_purge(uuid, bigint, timestamptz) FROM PUBLIC")
    role = _writer_role()
    password = os.environ.get('AUDIT_DB_WRITER_PASSWORD')
    login = "LOGIN PASSWORD '" + password.replace("'", "''") + "'" if password else 'NOLOGIN'
    # Roles belong to the whole server: create it once, tolerate a concurrent creator, and
    # leave it alone (with a notice) when the migrating user may not create roles.
    op.execute(f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                BEGIN
                    CREATE ROLE {role} NOLOGIN;
                EXCEPTION
                    WHEN duplicate_object OR unique_violation THEN NULL;
                    WHEN insufficient_privilege THEN
                        RAISE NOTICE 'cannot create role {role}: create it and rerun the grants (docs/audit.md)';
                        RETURN;
                END;
            END IF;
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database());
            GRANT USAGE ON SCHEMA public TO {role};
            GRANT SELECT, INSERT ON audit_entries TO {role};
            GRANT SELECT, INSERT, UPDATE ON audit_chain_heads, audit_tenants, outbox TO {role};
            GRANT SELECT, INSERT ON processed_events TO {role};
            GRANT SELECT ON alembic_version TO {role};
            GRANT USAGE, SELECT ON SEQUENCE audit_entries_id_seq, outbox_id_seq TO {role};
            GRANT EXECUTE ON FUNCTION audit_purge(uuid, bigint, timestamptz) TO {role};
        END $$
    """)  # noqa: S608 (the role name is checked by _writer_role)
    if password:
        op.execute(f"ALTER ROLE {role} {login}")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        role = _writer_role()
        op.execute(f"""
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                    REVOKE ALL ON audit_entries, audit_chain_heads, audit_tenants FROM {role};
                    REVOKE ALL ON FUNCTION audit_purge(uuid, bigint, timestamptz) FROM {role};
                END IF;
            END $$
        """)  # noqa: S608 (the role name is checked by _writer_role)
        op.execute("DROP FUNCTION audit_purge(uuid, bigint, timestamptz)")
        op.execute("DROP TABLE audit_entries")  # its triggers go with it
        op.execute("DROP FUNCTION audit_entries_append_only()")
    else:
        op.drop_table('audit_entries')
    op.drop_table('audit_tenants')
    op.drop_table('audit_purge_gate')
    op.drop_table('audit_chain_heads')
