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
    # Its W3C trace context (servicekit.tracing): the delivery is a span of that trace.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(sa.JSON())
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


class MailAttachment(Base):
    """A file attached to an outgoing mail (a report's CSV, an invoice PDF)."""

    __tablename__ = "mail_attachments"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    mail_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("outgoing_mail.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer(), default=0)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())


class Recipient(Base):
    """Someone of a tenant who gets the notifications of the types chosen."""

    __tablename__ = "recipients"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    email_normalised: Mapped[str] = mapped_column(sa.String(320))
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    types: Mapped[list[str]] = mapped_column(sa.JSON())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (sa.UniqueConstraint("tenant_id", "email_normalised", name="uq_recipients_tenant_email"),)


class TenantSettings(Base):
    """A tenant's report frequency and how the CSV detail travels; absent = the defaults."""

    __tablename__ = "notification_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    frequency: Mapped[str] = mapped_column(sa.String(20))
    csv_delivery: Mapped[str] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReportRun(Base):
    """One scheduled report of one tenant for one period. The unique key is the claim:
    whoever inserts it (in the transaction that queues the mail) sends it, nobody else."""

    __tablename__ = "report_runs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    report_type: Mapped[str] = mapped_column(sa.String(50))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime())
    period_end: Mapped[datetime] = mapped_column(UtcDateTime())
    recipients: Mapped[int] = mapped_column(sa.Integer(), default=0)
    rows: Mapped[int] = mapped_column(sa.Integer(), default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "report_type", "period_start", name="uq_report_runs_period"),
    )


class ReportFile(Base):
    """A report's CSV detail, served through a signed link until it expires."""

    __tablename__ = "report_files"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    report_run_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("report_runs.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    filename: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Integration(Base):
    """A distributor's Backup Radar integration: the operator's switch and the endpoint.

    ``secret_sealed`` is the endpoint's ``whsec_`` secret encrypted with the service key;
    it never appears in a log or an event.
    """

    __tablename__ = "integrations"

    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    report_email: Mapped[str | None] = mapped_column(sa.String(320))
    secret_sealed: Mapped[str | None] = mapped_column(sa.Text())
    # Who set the endpoint: told when it is disabled.
    contact_email: Mapped[str | None] = mapped_column(sa.String(320))
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(300))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # First failure since the last success; None while deliveries succeed.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookDelivery(Base):
    """One webhook message to one distributor's endpoint, with its attempts so far.

    ``body`` is the exact JSON text sent: every attempt and replay signs the same bytes
    with the same ``webhook_id``.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    # What caused it (e.g. "run:<run_id>"): one message per cause and endpoint.
    source_key: Mapped[str] = mapped_column(sa.String(200))
    webhook_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text())
    status: Mapped[str] = mapped_column(sa.String(20))
    attempts: Mapped[int] = mapped_column(sa.Integer(), default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer())
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    correlation_id: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "source_key", name="uq_webhook_deliveries_source"),
        sa.Index("ix_webhook_deliveries_tenant_created", "tenant_id", "created_at"),
        sa.Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )


metadata = Base.metadata
