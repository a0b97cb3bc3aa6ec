"""The SQL of the outgoing mail queue: a mail by its idempotency key, the next one due, its attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notify.adapters.models import MailAttachment, MailStatus, OutgoingMail
from services.notify.domain.messages import Attachment


def mail_by_key(session: Session, idempotency_key: str) -> OutgoingMail | None:
    return session.execute(
        sa.select(OutgoingMail).where(OutgoingMail.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


def next_due_mail(session: Session, now: datetime) -> OutgoingMail | None:
    query = (
        sa.select(OutgoingMail)
        .where(OutgoingMail.status == MailStatus.QUEUED, OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(1)
        # PostgreSQL: a second instance taking mail at the same moment skips this row
        # instead of waiting for it or taking it too; once taken, the lease keeps it off
        # everyone's list while it is sent. (SQLite ignores the clause; a SQLite database
        # has a single instance.)
        .with_for_update(skip_locked=True)
    )
    return session.execute(query).scalar_one_or_none()


def locked_mail(session: Session, mail_id: uuid.UUID) -> OutgoingMail:
    """The mail as it is now, locked for recording an outcome."""
    mail = session.get(OutgoingMail, mail_id, populate_existing=True, with_for_update=True)
    assert mail is not None  # mail rows are never deleted
    return mail


def add_attachments(session: Session, mail_id: uuid.UUID, attachments: Sequence[Attachment]) -> None:
    for position, attachment in enumerate(attachments):
        session.add(MailAttachment(id=uuid.uuid4(), mail_id=mail_id, position=position,
                                   filename=attachment.filename, content_type=attachment.content_type,
                                   content=attachment.content))


def attachments_of(session: Session, mail_id: uuid.UUID) -> list[Attachment]:
    rows = session.scalars(
        sa.select(MailAttachment).where(MailAttachment.mail_id == mail_id).order_by(MailAttachment.position)
    )
    return [Attachment(row.filename, row.content_type, row.content) for row in rows]


def drop_attachments(session: Session, mail_id: uuid.UUID) -> None:
    session.execute(sa.delete(MailAttachment).where(MailAttachment.mail_id == mail_id))
