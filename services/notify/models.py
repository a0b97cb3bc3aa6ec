"""The notify service's tables (its own database; nobody else reads it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.types import UtcDateTime


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutgoingMail(Base):
    """A mail rendered at enqueue time, waiting for (or done with) delivery.

    The bodies may hold a confirmation link: they stay in this table and go to the
    recipient, never into a log or an event.
    """

    __tablename__ = "outgoing_mail"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid(), index=True)
    template: Mapped[str] = mapped_column(sa.String(100))
    recipient: Mapped[str] = mapped_column(sa.String(320))
    recipient_name: Mapped[str | None] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(500))
    text_body: Mapped[str] = mapped_column(sa.Text())
    html_body: Mapped[str] = mapped_column(sa.Text())
    status: Mapped[str] = mapped_column(sa.String(20), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    # Set while queued; None once sent or given up.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # The request that queued it: delivery logs and events carry it on (tracing).
    correlation_id: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # The delivery loop's query: due queued mail, oldest first.
        sa.Index(
            "ix_outgoing_mail_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        ),
    )


metadata = Base.metadata
