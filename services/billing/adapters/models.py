"""The billing service's tables (its own database; nobody else reads it).

Projection of tenancy (fed by its events, never by reading its database):
- ``billing_owners``: distributors and partners (a partner's parent is the distributor billed);
- ``billing_accounts``: customer accounts with their subscription and current seats;
- ``billing_tasks``: backup tasks with their service and the seats of their latest run;
- ``usage_snapshots``: protected seats per task per day (the basis of every bill);
  ``snapshot_days``: the days already filled by carrying seats forward.

Billing's own:
- ``billing_profiles``: per distributor, the billing method and the billing details;
- ``cards``: processor tokens and display data only;
- ``reference_counters``: the gap-free counter of reference numbers per year;
- ``invoices`` and ``invoice_lines``: bills, one line per account; ``period_key`` is unique
  per distributor and month (consolidated) or per account and term (annual), so a period
  is never billed twice;
- ``payments``: card charges and recorded payments, each with its idempotency key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.types import UtcDateTime

TZ = UtcDateTime()


class MoneyType(sa.TypeDecorator[Decimal]):
    """Exact decimals everywhere: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = sa.Numeric(14, 2)
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2) -> None:
        super().__init__()
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        if value is None:
            return None
        return str(Decimal(value)) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class Owner(Base):
    __tablename__ = "billing_owners"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    code: Mapped[str | None] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(TZ)


class Account(Base):
    __tablename__ = "billing_accounts"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    email: Mapped[str | None] = mapped_column(sa.String(320))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    owner_kind: Mapped[str | None] = mapped_column(sa.String(20))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    distributor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    status: Mapped[str] = mapped_column(sa.String(20), default="trial", server_default="trial")
    plan: Mapped[str | None] = mapped_column(sa.String(10))
    subscribed_at: Mapped[datetime | None] = mapped_column(TZ)
    # The UTC calendar days of subscribing and removal: the bounds of what is billed.
    subscribed_on: Mapped[date | None] = mapped_column(sa.Date())
    removed_on: Mapped[date | None] = mapped_column(sa.Date())
    trial_ends_at: Mapped[datetime | None] = mapped_column(TZ)
    expired_at: Mapped[datetime | None] = mapped_column(TZ)
    removed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime | None] = mapped_column(TZ)
    seats: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(TZ)
    # Raised with each bill issued or paid that includes the account (account_billing_changed).
    billing_version: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")

    __table_args__ = (
        sa.Index("ix_billing_accounts_distributor_plan", "distributor_id", "plan", "status"),
        sa.Index("ix_billing_accounts_owner", "owner_id"),
    )


class Task(Base):
    __tablename__ = "billing_tasks"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), index=True)
    service: Mapped[str | None] = mapped_column(sa.String(20))
    seats: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    last_finished_at: Mapped[datetime | None] = mapped_column(TZ)


class UsageSnapshot(Base):
    """The most seats a task protected on a day. ``carried``: copied forward from an earlier
    day (no run that day); a run reported late for an earlier day corrects carried days."""

    __tablename__ = "usage_snapshots"

    task_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    seats: Mapped[int] = mapped_column(sa.Integer())
    carried: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())

    __table_args__ = (sa.Index("ix_usage_snapshots_account_day", "account_id", "day"),)


class SnapshotDay(Base):
    """A day whose snapshots were filled (every task carried forward to it): filled once."""

    __tablename__ = "snapshot_days"

    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    filled_at: Mapped[datetime] = mapped_column(TZ)


class Profile(Base):
    __tablename__ = "billing_profiles"

    distributor_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    method: Mapped[str | None] = mapped_column(sa.String(20))
    method_chosen_at: Mapped[datetime | None] = mapped_column(TZ)
    method_chosen_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    details_updated_at: Mapped[datetime | None] = mapped_column(TZ)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", server_default="USD")
    payment_day: Mapped[int | None] = mapped_column(sa.Integer())


class Card(Base):
    __tablename__ = "cards"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    distributor_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    processor: Mapped[str] = mapped_column(sa.String(30))
    processor_token: Mapped[str] = mapped_column(sa.String(200))
    brand: Mapped[str] = mapped_column(sa.String(40))
    last4: Mapped[str] = mapped_column(sa.String(4))
    exp_month: Mapped[int] = mapped_column(sa.Integer())
    exp_year: Mapped[int] = mapped_column(sa.Integer())
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(TZ)
    deleted_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        sa.Index("ix_cards_distributor", "distributor_id"),
        # One active card per distributor; one saved copy of a card.
        sa.Index("uq_cards_one_active", "distributor_id", unique=True,
                 postgresql_where=sa.text("active AND deleted_at IS NULL"),
                 sqlite_where=sa.text("active AND deleted_at IS NULL")),
        sa.Index("uq_cards_fingerprint", "distributor_id", "fingerprint", unique=True,
                 postgresql_where=sa.text("deleted_at IS NULL"), sqlite_where=sa.text("deleted_at IS NULL")),
    )


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(sa.Integer())


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    period_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    distributor_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    period_start: Mapped[date] = mapped_column(sa.Date())
    period_end: Mapped[date] = mapped_column(sa.Date())
    issue_date: Mapped[date] = mapped_column(sa.Date())
    due_date: Mapped[date] = mapped_column(sa.Date())
    currency: Mapped[str] = mapped_column(sa.String(3))
    total: Mapped[Decimal] = mapped_column(MoneyType())
    method: Mapped[str] = mapped_column(sa.String(20))
    paid_at: Mapped[datetime | None] = mapped_column(TZ)
    paid_by: Mapped[str | None] = mapped_column(sa.String(20))
    charge_failed: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())
    auto_charge_pending: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())
    bill_to: Mapped[list[str]] = mapped_column(sa.JSON())
    created_at: Mapped[datetime] = mapped_column(TZ)

    __table_args__ = (
        sa.Index("ix_invoices_distributor_issue", "distributor_id", "issue_date"),
        sa.Index("ix_invoices_unpaid", "distributor_id", "due_date",
                 postgresql_where=sa.text("paid_at IS NULL"), sqlite_where=sa.text("paid_at IS NULL")),
    )


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), index=True)
    account_name: Mapped[str] = mapped_column(sa.String(200))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    plan: Mapped[str] = mapped_column(sa.String(10))
    seats: Mapped[int] = mapped_column(sa.Integer())
    days: Mapped[int] = mapped_column(sa.Integer())
    period_days: Mapped[int] = mapped_column(sa.Integer())
    amount: Mapped[Decimal] = mapped_column(MoneyType())
    # One item per backup service: [{"service", "seats", "unit_price", "amount"}] (decimal strings).
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON())


class InvoiceOwnerTotal(Base):
    """What one invoice bills each owner — a partner, or the distributor for its direct
    accounts: the sum of its lines, written with them (lines never change after issue).

    The dashboard's unpaid amounts read these few rows per unpaid invoice instead of every
    line of the year (docs/benchmarks.md).
    """

    __tablename__ = "invoice_owner_totals"

    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType())


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    distributor_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    method: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(MoneyType())
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(10))
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    card_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    processor_charge_id: Mapped[str | None] = mapped_column(sa.String(100))
    failure_code: Mapped[str | None] = mapped_column(sa.String(50))
    failure_message: Mapped[str | None] = mapped_column(sa.String(200))
    external_reference: Mapped[str | None] = mapped_column(sa.String(100))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    created_at: Mapped[datetime] = mapped_column(TZ)
    settled_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        sa.Index("ix_payments_pending", "created_at",
                 postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'")),
    )


metadata = Base.metadata
