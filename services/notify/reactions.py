"""What notify does when other services announce something. Each queues in the handler's
unit of work; the idempotent handler commits it with the event's claim, so a redelivered
event queues nothing more (and each mail's idempotency key comes from the event too)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.billing import InvoiceDelivery, InvoiceIssued
from contracts.envelope import EventEnvelope
from contracts.errors import NotFound, PermissionDenied
from contracts.notify import ReportCsv, SendMailRequest
from contracts.tenancy import AccountView, BackupRunRecorded
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.notify import backup_radar
from services.notify.keys import NotifyKeys
from services.notify.mail import queue_mail
from services.notify.messages import Attachment
from services.notify.models import Integration, ReportFile
from services.notify.upstream import BillingReads, TenancyReads
from services.notify.webhooks import active_integrations, queue_webhook

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


def on_invoice_issued(uow: UnitOfWork, envelope: EventEnvelope, billing: BillingReads,
                      public_base_url: str) -> bool:
    """billing's ``invoice_issued``: mail the distributor's billing address, the invoice as a
    link or attached (its billing details' ``invoice_delivery``)."""
    invoice = InvoiceIssued.from_wire(envelope.payload)
    details = billing.details(invoice.distributor_id)
    if details is None:
        log.warning("invoice issued before billing details exist: not mailed", reference=invoice.reference)
        return False
    url = f"{public_base_url.rstrip('/')}/api/v1/billing/invoices/{invoice.reference}.pdf"
    attachments: list[Attachment] = []
    if details.invoice_delivery is InvoiceDelivery.ATTACHMENT:
        attachments = [billing.invoice_pdf(invoice.reference, invoice.distributor_id)]
    what = "Consolidated invoice" if invoice.consolidated else "Invoice"
    lines = [f"{what} {invoice.reference} of {invoice.issue_date.isoformat()}: "
             f"{invoice.amount:,.2f} {invoice.currency}, due on {invoice.due_date.isoformat()}.",
             "The invoice is attached." if attachments else "Download it from the portal (Billing > History)."]
    name = " ".join(part for part in (details.first_name, details.last_name) if part)
    queue_mail(uow, SendMailRequest(
        template="notice", to=details.billing_email, to_name=name or None, tenant_id=invoice.distributor_id,
        idempotency_key=f"invoice:{invoice.invoice_id}",
        context={"title": f"{what} {invoice.reference}", "lines": lines, "action_url": url,
                 "action_label": "Download the invoice"},
    ), attachments=attachments)
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


def on_backup_runs_recorded(uow: UnitOfWork, runs: list[BackupRunRecorded], source: TenancyReads,
                            parents: dict[uuid.UUID, uuid.UUID | None]) -> int:
    """A ``backup.result`` webhook per run for each active Backup Radar endpoint above its account."""
    integrations = active_integrations(uow)
    if not integrations:
        return 0  # the usual case, answered with one query for the whole batch
    return sum(on_backup_run_recorded(uow, run, source, parents, integrations) for run in runs)


def on_backup_run_recorded(uow: UnitOfWork, run: BackupRunRecorded, source: TenancyReads,
                           parents: dict[uuid.UUID, uuid.UUID | None],
                           integrations: list[Integration] | None = None) -> int:
    """A ``backup.result`` webhook for each active Backup Radar endpoint above the account."""
    integrations = active_integrations(uow) if integrations is None else integrations
    if not integrations:
        return 0
    above = set(ancestors(source, run.owner_id, parents))
    targets = [i for i in integrations if i.tenant_id in above]
    if not targets:
        return 0
    account: AccountView | None
    try:
        account = source.account(run.account_id)
    except NotFound:
        account = None  # removed meanwhile: the result still goes, without names
    data = backup_radar.backup_result_data(run, account)
    return sum(queue_webhook(uow, i.tenant_id, f"run:{run.run_id}", backup_radar.BACKUP_RESULT, data)
               for i in targets)


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
