"""The tenancy service's tables (its own database; nobody else reads it)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.types import UtcDateTime


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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        sa.Index("ix_tenants_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
        sa.CheckConstraint("kind IN ('operator', 'distributor', 'partner', 'account')", name="ck_tenants_kind"),
    )


metadata = Base.metadata
