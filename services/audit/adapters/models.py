"""The audit service's tables (its own database; nobody else reads it).

- ``audit_entries``: the trail, append-only (a trigger refuses UPDATE and DELETE but for the
  retention purge; on PostgreSQL the service's role may only INSERT and SELECT). Each entry
  is a link of its tenant's hash chain (``seq``, ``prev_hash``, ``hash``).
- ``audit_chain_heads``: per tenant, the chain's last link (locked to append: one chain,
  never a fork) and its anchor, the last link a retention purge removed.
- ``audit_tenants``: the local projection of tenancy's tree (id → materialised path), fed
  by tenancy's creation events.
- ``audit_purge_gate``: SQLite only; open while the purge deletes (PostgreSQL uses a
  SECURITY DEFINER function instead). See migration 0002 and docs/audit.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.types import UtcDateTime

TZ = UtcDateTime()
# Paths compare byte by byte ("C" collation) so that a subtree is one index range.
PATH = sa.String(2000).with_variant(sa.String(2000, collation="C"), "postgresql")
HASH = sa.String(64)


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), unique=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    # Null while the tenant is not in the projection yet; searches then resolve it by join.
    tenant_path: Mapped[str | None] = mapped_column(PATH)
    seq: Mapped[int] = mapped_column(sa.BigInteger())
    occurred_at: Mapped[datetime] = mapped_column(TZ)
    recorded_at: Mapped[datetime] = mapped_column(TZ)
    activity: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(10))
    account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    account_name: Mapped[str | None] = mapped_column(sa.String(200))
    performed_by: Mapped[str | None] = mapped_column(sa.String(320))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    description: Mapped[str] = mapped_column(sa.String(1000))
    source: Mapped[str] = mapped_column(sa.String(50))
    event_type: Mapped[str] = mapped_column(sa.String(100))
    correlation_id: Mapped[str | None] = mapped_column(sa.String(100))
    prev_hash: Mapped[str] = mapped_column(HASH)
    hash: Mapped[str] = mapped_column(HASH)

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "seq", name="uq_audit_entries_chain"),
        sa.CheckConstraint("status IN ('completed', 'failed')", name="ck_audit_entries_status"),
        # Newest first everywhere: the whole trail (operators, big subtrees) ...
        sa.Index("ix_audit_entries_time", "occurred_at", "id"),
        # ... a subtree as one range of paths ...
        sa.Index("ix_audit_entries_path_time", "tenant_path", "occurred_at", "id"),
        # ... and the selective filters.
        sa.Index("ix_audit_entries_activity_time", "activity", "occurred_at", "id", postgresql_include=["tenant_path"]),
        sa.Index("ix_audit_entries_performer_time", sa.text("lower(performed_by)"), "occurred_at", "id"),
        sa.Index("ix_audit_entries_account_time", "account_id", "occurred_at", "id"),
        sa.Index("ix_audit_entries_failed_time", "occurred_at", "id", postgresql_include=["tenant_path", "activity"],
                 postgresql_where=sa.text("status = 'failed'"), sqlite_where=sa.text("status = 'failed'")),
        # Entries still waiting for their tenant's path (few, normally none).
        sa.Index("ix_audit_entries_unplaced", "tenant_id",
                 postgresql_where=sa.text("tenant_path IS NULL"), sqlite_where=sa.text("tenant_path IS NULL")),
    )


class ChainHead(Base):
    __tablename__ = "audit_chain_heads"

    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger(), default=0)
    last_hash: Mapped[str] = mapped_column(HASH)
    # The last link removed by retention: the chain now starts after it.
    anchor_seq: Mapped[int] = mapped_column(sa.BigInteger(), default=0)
    anchor_hash: Mapped[str] = mapped_column(HASH)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class AuditTenant(Base):
    """tenancy's tree as far as audit has heard of it; ``path`` null until the parent is known."""

    __tablename__ = "audit_tenants"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid(), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    path: Mapped[str | None] = mapped_column(PATH)

    __table_args__ = (sa.Index("ix_audit_tenants_path", "path"),)


class PurgeGate(Base):
    """SQLite's purge path: a row exists only inside the purging transaction."""

    __tablename__ = "audit_purge_gate"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)


metadata = Base.metadata
