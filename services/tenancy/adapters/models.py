"""The tenancy service's tables (its own database; nobody else reads it).

- ``tenants``: the tree (operator → distributor → partner → customer account), with the
  profile of distributors and partners (Settings > Account);
- ``accounts``: a customer account's subscription state and its backup roll-up;
- ``owner_rollups``: per distributor/partner, the roll-up of the accounts directly under
  it (the dashboard row), maintained incrementally;
- ``backup_tasks``: tasks per account, each with the state of its latest run;
- ``backup_runs``: every run the engine reported (history; ``run_id`` is the dedupe key).

Roll-ups are changed by deltas when a run arrives or an account changes, never by
scanning runs (services/tenancy/usecases/backups.py).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.request_keys import request_keys_table
from servicekit.types import UtcDateTime

TZ = UtcDateTime()


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class Tenant(Base):
    """A node of the tenant tree: operator → distributor → partner → customer account.

    ``path`` is the materialized path of ids from the root ("/<root>/<child>/…/<self>/"),
    so a subtree is one indexed prefix scan at any depth.
    """

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    # Lower-cased email: unique across the whole portal, case-insensitively.
    email_normalised: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    code: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    data_center: Mapped[str | None] = mapped_column(sa.String(40))
    path: Mapped[str] = mapped_column(sa.String(2000))
    depth: Mapped[int] = mapped_column(sa.Integer())
    created_at: Mapped[datetime] = mapped_column(TZ)
    # Profile of distributors and partners (Settings > Account).
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.String(500))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    default_subscription: Mapped[str] = mapped_column(
        sa.String(30), default="trial_expiring", server_default="trial_expiring"
    )
    updated_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        sa.Index("ix_tenants_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
        sa.CheckConstraint("kind IN ('operator', 'distributor', 'partner', 'account')", name="ck_tenants_kind"),
        # Children of a node in name order (lists, search by name prefix).
        sa.Index("ix_tenants_parent_kind_name", "parent_id", "kind", sa.text("lower(name)"), "id"),
        # Every partner (or account) in name order: a list's first page stops after a page of rows.
        sa.Index("ix_tenants_kind_name", "kind", sa.text("lower(name)"), "id"),
    )


class Account(Base):
    """A customer account (a ``tenants`` row of kind ``account``): subscription and roll-up.

    ``status`` is the stored lifecycle: trial, trial_expired, subscribed, removed; the
    shown account status adds "expiring" from the clock (services/tenancy/domain/account_lifecycle.py).
    """

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    # The partner, or the distributor of a direct account; accounts do not move.
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tenants.id"))
    subscription: Mapped[str] = mapped_column(sa.String(30))
    status: Mapped[str] = mapped_column(sa.String(20))
    plan: Mapped[str | None] = mapped_column(sa.String(10))
    auto_subscribe: Mapped[str | None] = mapped_column(sa.String(10))
    trial_started_at: Mapped[datetime | None] = mapped_column(TZ)
    trial_ends_at: Mapped[datetime | None] = mapped_column(TZ)
    subscribed_at: Mapped[datetime | None] = mapped_column(TZ)
    expired_at: Mapped[datetime | None] = mapped_column(TZ)
    removed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    # Roll-up of the latest run of each task.
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")
    seats: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    tasks: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    tasks_success: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    tasks_partial: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    tasks_failure: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    backup_status: Mapped[str] = mapped_column(sa.String(20), default="no_backup", server_default="no_backup")
    # Billing's facts (account_billing_changed, the newest version kept): domain/billing_facts.py.
    billing_version: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    billing_bills: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    billing_amount_due: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"), server_default="0")
    billing_currency: Mapped[str | None] = mapped_column(sa.String(3))
    billing_overdue_from: Mapped[date | None] = mapped_column(sa.Date())

    __table_args__ = (
        sa.CheckConstraint("status IN ('trial', 'trial_expired', 'subscribed', 'removed')", name="ck_accounts_status"),
        sa.Index("ix_accounts_owner_status", "owner_id", "status", "trial_ends_at"),
        sa.Index("ix_accounts_owner_backup", "owner_id", "backup_status"),
        sa.Index("ix_accounts_owner_size", "owner_id", "size_bytes"),
        sa.Index("ix_accounts_owner_amount", "owner_id", "billing_amount_due", "id"),
        sa.Index("ix_accounts_owner_overdue_from", "owner_id", "billing_overdue_from"),
        # The trial clock's candidates only.
        sa.Index(
            "ix_accounts_trial_ends",
            "trial_ends_at",
            postgresql_where=sa.text("status = 'trial'"),
            sqlite_where=sa.text("status = 'trial'"),
        ),
    )


class OwnerRollup(Base):
    """The accounts directly under a distributor or partner, summed (a dashboard row)."""

    __tablename__ = "owner_rollups"

    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    accounts: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    tasks: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")
    seats: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")
    backup_no_backup: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    backup_successful: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    backup_partially_failed: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    backup_failed: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    # What its accounts owe, and how many owe anything (billing's facts, summed).
    billing_owed: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2), default=Decimal("0"), server_default="0")
    billing_owing: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    billing_currency: Mapped[str | None] = mapped_column(sa.String(3))
    # Partners anywhere below this distributor (the M of the dashboard's "N of M"), kept
    # as partners are created instead of counted per page.
    partners_below: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    # Of those, the partners with an account that owes ("With exceptions"), kept as a
    # partner's ``billing_owing`` leaves or reaches zero.
    partners_owing_below: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    # The owner's kind and path (they never change): a list sorted by a roll-up column filters
    # on this row, so the planner's estimate is the filter's own (migration 0008).
    kind: Mapped[str] = mapped_column(sa.String(20))
    path: Mapped[str] = mapped_column(sa.String(2000))

    __table_args__ = (
        # The amount sort walks owners by what they owe (an incremental sort by name on ties)...
        sa.Index("ix_owner_rollups_owed", "billing_owed", "owner_id"),
        # ...or, for a distributor holding few of them, sorts the owners below its path.
        sa.Index("ix_owner_rollups_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )


class BackupTask(Base):
    __tablename__ = "backup_tasks"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(TZ)
    activated_at: Mapped[datetime | None] = mapped_column(TZ)
    paused_at: Mapped[datetime | None] = mapped_column(TZ)
    # The latest run by (finished_at, run_id): an older run arriving late does not replace it.
    runs: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    last_status: Mapped[str | None] = mapped_column(sa.String(10))
    last_started_at: Mapped[datetime | None] = mapped_column(TZ)
    last_finished_at: Mapped[datetime | None] = mapped_column(TZ)
    last_size_bytes: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")
    last_seats: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")


class BackupRun(Base):
    __tablename__ = "backup_runs"

    run_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("backup_tasks.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(10))
    started_at: Mapped[datetime] = mapped_column(TZ)
    finished_at: Mapped[datetime] = mapped_column(TZ)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger())
    seats: Mapped[int] = mapped_column(sa.Integer())
    recorded_at: Mapped[datetime] = mapped_column(TZ)

    __table_args__ = (sa.Index("ix_backup_runs_task_finished", "task_id", "finished_at"),)


class SiteContentRow(Base):
    """The operator's published content (contracts/site_content.py): one row, a JSON document."""

    __tablename__ = "site_content"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)  # always 1
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    version: Mapped[int] = mapped_column(sa.Integer())
    updated_at: Mapped[datetime] = mapped_column(TZ)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())


metadata = Base.metadata

# Idempotency-Key of create requests (servicekit.request_keys).
request_keys = request_keys_table(metadata)

