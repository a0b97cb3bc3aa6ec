"""What notify does when other services announce something. Each queues in the handler's
unit of work; the idempotent handler commits it with the event's claim, so a redelivered
event queues nothing more (and each mail's idempotency key comes from the event too).

A reaction that needs another service asks it first (``invoice_mail``,
``backup_result_webhooks``: the handler's ``gather`` step, before the claim opens the
write transaction) and queues what it learnt afterwards: no transaction stays open
across an RPC."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.billing import InvoiceDelivery, InvoiceIssued
from contracts.envelope import EventEnvelope
from contracts.errors import NotFound, PermissionDenied
from contracts.notify import ReportCsv, SendMailRequest
from contracts.tenancy import AccountView, BackupRunRecorded
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.notify.adapters.keys import NotifyKeys
from services.notify.adapters.models import ReportFile
from services.notify.adapters.upstream import BillingReads, TenancyReads
from services.notify.adapters.webhook_queue import active_integrations
from services.notify.domain import backup_radar_content
from services.notify.domain.messages import Attachment
from services.notify.usecases.mail import queue_mail
from services.notify.usecases.webhooks import queue_webhook

log = get_logger(__name__)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def on_recovery_code_used(uow: UnitOfWork, envelope: EventEnvelope) -> bool:
    """identity's ``recovery_code_used``: tell the user (it may not have been them)."""
    email = envelope.payload.get("email")
    if not isinstance(email, str) or "@" not in email:
        return False
    remaining = envelope.payload.get("remaining")
    lines = [f"A two-factor recovery code was used to sign in to your account on {_when(envelope.occurred_at)}"
             f" from {envelope.actor.ip or 'an unknown address'}."]
    if isinstance(remaining, int):
        lines.append(f"{remaining} unused recovery code{'s are' if remaining != 1 else ' is'} left.")
    lines.append("If this was not you, change your password and tell your administrator at once.")
    queue_mail(uow, SendMailRequest(
        template="security_notice", to=email, tenant_id=envelope.tenant_id,
        idempotency_key=f"recovery-code-used:{envelope.event_id}",
        context={"title": "A recovery code was used", "lines": lines},
    ))
    return True


@dataclass(frozen=True)
class PendingMail:
    """A mail a reaction will queue once it holds the event's claim."""

    request: SendMailRequest
    attachments: list[Attachment] = field(default_factory=list)


def invoice_mail(envelope: EventEnvelope, billing: BillingReads, public_base_url: str) -> PendingMail | None:
    """billing's ``invoice_issued``: the mail to the distributor's billing address, the invoice
    as a link or attached (its billing details' ``invoice_delivery``). Reads billing only:
    it runs before the handler's transaction opens."""
    invoice = InvoiceIssued.from_wire(envelope.payload)
    details = billing.details(invoice.distributor_id)
    if details is None:
        log.warning("invoice issued before billing details exist: not mailed", reference=invoice.reference)
        return None
    url = f"{public_base_url.rstrip('/')}/api/v1/billing/invoices/{invoice.reference}.pdf"
    attachments: list[Attachment] = []
    if details.invoice_delivery is InvoiceDelivery.ATTACHMENT:
        attachments = [billing.invoice_pdf(invoice.reference, invoice.distributor_id)]
    what = "Consolidated invoice" if invoice.consolidated else "Invoice"
    lines = [f"{what} {invoice.reference} of {invoice.issue_date.isoformat()}: "
             f"{invoice.amount:,.2f} {invoice.currency}, due on {invoice.due_date.isoformat()}.",
             "The invoice is attached." if attachments else "Download it from the portal (Billing > History)."]
    name = " ".join(part for part in (details.first_name, details.last_name) if part)
    return PendingMail(SendMailRequest(
        template="notice", to=details.billing_email, to_name=name or None, tenant_id=invoice.distributor_id,
        idempotency_key=f"invoice:{invoice.invoice_id}",
        context={"title": f"{what} {invoice.reference}", "lines": lines, "action_url": url,
                 "action_label": "Download the invoice"},
    ), attachments)


def queue_pending_mail(uow: UnitOfWork, mail: PendingMail | None) -> bool:
    if mail is None:
        return False
    queue_mail(uow, mail.request, attachments=mail.attachments)
    return True


def ancestors(source: TenancyReads, tenant_id: uuid.UUID, cache: dict[uuid.UUID, uuid.UUID | None]) -> list[uuid.UUID]:
    """The tenant and its ancestors up to the root. A tenant's parent never changes: cached."""
    chain = [tenant_id]
    current: uuid.UUID | None = tenant_id
    while current is not None and len(chain) < 64:
        if current not in cache:
            cache[current] = source.tenant(current).parent_id
        current = cache[current]
        if current is not None:
            chain.append(current)
    return chain


@dataclass(frozen=True)
class PendingWebhook:
    tenant_id: uuid.UUID
    source_key: str
    event_type: str
    data: dict[str, Any]


def backup_result_webhooks(uow: UnitOfWork, runs: list[BackupRunRecorded], source: TenancyReads,
                           parents: dict[uuid.UUID, uuid.UUID | None]) -> list[PendingWebhook]:
    """A ``backup.result`` webhook per run for each active Backup Radar endpoint above its account.

    Reads the endpoints, ends that read, then asks tenancy: no transaction is open during the RPCs.
    """
    integrations = active_integrations(uow.session)
    uow.rollback()
    if not integrations:
        return []  # the usual case, answered with one query for the whole batch
    pending: list[PendingWebhook] = []
    for run in runs:
        above = set(ancestors(source, run.owner_id, parents))
        targets = [i.tenant_id for i in integrations if i.tenant_id in above]
        if not targets:
            continue
        account: AccountView | None
        try:
            account = source.account(run.account_id)
        except NotFound:
            account = None  # removed meanwhile: the result still goes, without names
        data = backup_radar_content.backup_result_data(run, account)
        pending += [PendingWebhook(t, f"run:{run.run_id}", backup_radar_content.BACKUP_RESULT, data) for t in targets]
    return pending


def queue_pending_webhooks(uow: UnitOfWork, pending: list[PendingWebhook]) -> int:
    return sum(queue_webhook(uow, w.tenant_id, w.source_key, w.event_type, w.data) for w in pending)


def on_backup_runs_recorded(uow: UnitOfWork, runs: list[BackupRunRecorded], source: TenancyReads,
                            parents: dict[uuid.UUID, uuid.UUID | None]) -> int:
    """Both steps, for a caller that holds no transaction yet: the webhooks queued (uncommitted)."""
    return queue_pending_webhooks(uow, backup_result_webhooks(uow, runs, source, parents))


def report_csv(uow: UnitOfWork, keys: NotifyKeys, file_id: uuid.UUID, expires: int, signature: str,
               now: datetime | None = None) -> ReportCsv:
    """A report's CSV through its signed link: the signature is the credential.

    A wrong signature is refused before anything is looked up, so a guess learns nothing;
    an expired link is refused even with a right signature.
    """
    if not keys.link_signature_valid(file_id, expires, signature):
        raise PermissionDenied("this link is not valid", {"reason": "bad_signature"})
    now = now or datetime.now(UTC)
    if expires < int(now.timestamp()):
        raise PermissionDenied("this link has expired", {"reason": "link_expired"})
    row = uow.session.get(ReportFile, file_id)
    if row is None or row.expires_at < now:
        raise NotFound("no such report")
    return ReportCsv(filename=row.filename, content=row.content)
