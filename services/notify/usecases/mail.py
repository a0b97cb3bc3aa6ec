"""Use cases of outgoing mail: enqueue (render and store) and deliver. Each commits its unit of work.

Delivery is at-least-once, in three steps so that no transaction is open while the
transport talks to the mail server: the loop *takes* the mail (one more attempt, not due
again until its lease has passed) and commits; sends; and records the outcome in a new
transaction. Another loop leaves a taken mail alone; a loop that died mid-send has it sent
again when the lease is over, with the same Message-ID, so the copy is recognisable.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import structlog
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict
from contracts.events import NotifyEvent
from contracts.notify import MailDelivery, SendMailReply, SendMailRequest
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from servicekit.tracing import continued_span, record_outcome, stored_trace_context
from services.notify.adapters.mail_queue import (
    add_attachments,
    attachments_of,
    drop_attachments,
    locked_mail,
    mail_by_key,
    next_due_mail,
)
from services.notify.adapters.models import MailStatus, OutgoingMail
from services.notify.adapters.transports import DeliveryError, Transport, delivery_error
from services.notify.domain.messages import Addressing, Attachment, build_message
from services.notify.domain.rendering import MailRenderer, RenderedMail, default_renderer
from services.notify.domain.retry import RetryPolicy

log = get_logger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _duplicate(existing: OutgoingMail, request: SendMailRequest) -> SendMailReply:
    if existing.template != request.template or existing.recipient.lower() != str(request.to).lower():
        raise Conflict(
            "idempotency_key was already used for a different mail",
            {"fields": [{"field": "idempotency_key", "reason": "already used for a different mail"}]},
        )
    return SendMailReply(message_id=existing.id, status=existing.status, duplicate=True)


def queue_mail(uow: UnitOfWork, request: SendMailRequest, renderer: MailRenderer | None = None,
               now: datetime | None = None, attachments: Sequence[Attachment] = ()) -> SendMailReply:
    """Render the mail and add it to the unit of work, uncommitted: a reaction queues its mail
    in the transaction of its other changes. The same idempotency key again queues nothing."""
    existing = mail_by_key(uow.session, request.idempotency_key)
    if existing is not None:
        return _duplicate(existing, request)
    rendered = (renderer or default_renderer()).render(request.template, request.context, request.to_name)
    now = now or _utcnow()
    mail = OutgoingMail(
        id=uuid.uuid4(),
        idempotency_key=request.idempotency_key,
        tenant_id=request.tenant_id or uow.context.tenant_id,
        template=request.template,
        recipient=str(request.to),
        recipient_name=request.to_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        status=MailStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        correlation_id=uow.context.correlation_id,
        trace_context=stored_trace_context(),
        created_at=now,
    )
    uow.session.add(mail)
    # The mail first: the attachments' foreign key needs its row.
    uow.session.flush()
    add_attachments(uow.session, mail.id, attachments)
    uow.session.flush()
    log.info("mail queued", message_id=str(mail.id), template=mail.template, attachments=len(attachments))
    return SendMailReply(message_id=mail.id, status=mail.status)


def enqueue_mail(uow: UnitOfWork, request: SendMailRequest, renderer: MailRenderer | None = None,
                 now: datetime | None = None) -> SendMailReply:
    """Render the mail and queue it; the same idempotency key again queues nothing."""
    try:
        reply = queue_mail(uow, request, renderer, now)
    except IntegrityError:
        # Another worker queued the same key a moment ago: that one is the mail.
        uow.rollback()
        existing = mail_by_key(uow.session, request.idempotency_key)
        if existing is None:
            raise
        return _duplicate(existing, request)
    if not reply.duplicate:
        uow.commit()
    return reply


@dataclass(frozen=True)
class DeliveryOutcome:
    message_id: uuid.UUID
    status: MailStatus
    attempts: int
    retry_at: datetime | None = None
    error: str | None = None


# How long a taken mail is left to the loop sending it: far longer than a send may take.
SEND_LEASE = timedelta(minutes=5)


def deliver_next(uow: UnitOfWork, transport: Transport, sender: str, policy: RetryPolicy,
                 now: datetime | None = None, lease: timedelta = SEND_LEASE) -> DeliveryOutcome | None:
    """Send the oldest due mail, if any, and record what happened."""
    now = now or _utcnow()
    mail = next_due_mail(uow.session, now)
    if mail is None:
        uow.rollback()
        return None
    mail.attempts += 1
    mail.next_attempt_at = now + lease
    message: EmailMessage | Exception
    try:
        message = build_message(
            Addressing(mail.id, sender, mail.recipient, mail.recipient_name, mail.created_at),
            RenderedMail(mail.subject, mail.text_body, mail.html_body),
            attachments_of(uow.session, mail.id),
        )
    except Exception as exc:
        message = exc
    uow.commit()  # taken: nothing is held while the transport talks to the server
    # Log lines and events of the delivery belong to the request that queued the mail.
    if mail.correlation_id:
        uow.context = replace(uow.context, correlation_id=mail.correlation_id)
    with structlog.contextvars.bound_contextvars(
        correlation_id=uow.context.correlation_id,
        tenant_id=str(mail.tenant_id) if mail.tenant_id else None,
    ), continued_span("notify.deliver_mail", mail.trace_context, SpanKind.CLIENT,
                      {"portal.mail.template": mail.template, "portal.mail.attempt": mail.attempts}) as span:
        error = message if isinstance(message, Exception) else _send(transport, message)
        outcome = _record(uow, mail.id, error, policy, now)
        record_outcome(span, error)
        uow.commit()
    return outcome


def _send(transport: Transport, message: EmailMessage) -> Exception | None:
    try:
        transport.send(message)
    except Exception as exc:
        return exc
    return None


def _record(uow: UnitOfWork, mail_id: uuid.UUID, error: Exception | None, policy: RetryPolicy,
            now: datetime) -> DeliveryOutcome:
    mail = locked_mail(uow.session, mail_id)
    if mail.status != MailStatus.QUEUED:  # another loop, after the lease, has recorded it
        return DeliveryOutcome(mail.id, MailStatus(mail.status), mail.attempts)
    if error is not None:
        return _record_failure(uow, mail, delivery_error(error), policy, now)
    mail.status = MailStatus.SENT
    mail.sent_at = now
    mail.next_attempt_at = None
    mail.last_error = None
    _forget_credentials(uow, mail)
    _announce(uow, NotifyEvent.MAIL_SENT, mail)
    log.info("mail sent", message_id=str(mail.id), template=mail.template, attempts=mail.attempts)
    return DeliveryOutcome(mail.id, MailStatus.SENT, mail.attempts)


def _record_failure(uow: UnitOfWork, mail: OutgoingMail, error: DeliveryError, policy: RetryPolicy,
                    now: datetime) -> DeliveryOutcome:
    mail.last_error = error.reason
    delay = None if error.permanent else policy.delay_after(mail.attempts)
    if delay is None:
        mail.status = MailStatus.FAILED
        mail.next_attempt_at = None
        _forget_credentials(uow, mail)
        _announce(uow, NotifyEvent.MAIL_FAILED, mail)
    else:
        mail.next_attempt_at = now + delay
    log.warning(
        "mail delivery failed",
        message_id=str(mail.id),
        template=mail.template,
        attempts=mail.attempts,
        error=error.reason,
        permanent=error.permanent,
        retry_in_seconds=delay.total_seconds() if delay else None,
    )
    return DeliveryOutcome(mail.id, MailStatus(mail.status), mail.attempts, mail.next_attempt_at, error.reason)


# Mail whose body carries a one-time credential (a confirmation or reset link's token). Its body is
# kept only while it may still be sent: afterwards no database holds the token in clear.
CREDENTIAL_TEMPLATES = frozenset({"email_confirmation", "password_reset"})
REMOVED_BODY = "[removed after delivery: this mail carried a one-time link]"


def _forget_credentials(uow: UnitOfWork, mail: OutgoingMail) -> None:
    if mail.template in CREDENTIAL_TEMPLATES:
        mail.text_body = mail.html_body = REMOVED_BODY
    # Attachments (reports, invoices) are kept only while the mail may still be sent.
    drop_attachments(uow.session, mail.id)


def _announce(uow: UnitOfWork, event: NotifyEvent, mail: OutgoingMail) -> None:
    # Never the body or the context: they may carry a confirmation link.
    uow.emit(event, MailDelivery(message_id=mail.id, template=mail.template, attempts=mail.attempts).to_wire(),
             tenant_id=mail.tenant_id)
