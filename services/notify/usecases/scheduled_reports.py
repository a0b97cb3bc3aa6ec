"""Use case of the scheduled reports: every report whose period is over, sent once.

Each report is claimed in ``report_runs`` (adapters/report_runs.py) in the transaction that
queues its mail. The data is fetched from tenancy *before* the claim (nothing is held open
during the RPCs), and only for what is not claimed yet. A tenant whose data cannot be
fetched is skipped and tried again next tick. What a report says is
services/notify/domain/report_content.py.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.events import NotifyEvent
from contracts.notify import CsvDelivery, NotificationType, ReportSent, SendMailRequest
from contracts.vocabulary import TenantKind
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from servicekit.loops import short_error
from services.notify.adapters.keys import NotifyKeys
from services.notify.adapters.models import Recipient, ReportFile
from services.notify.adapters.report_runs import claim, claimed
from services.notify.adapters.upstream import TenancyReads, TenantInfo
from services.notify.domain.messages import Attachment
from services.notify.domain.periods import Period, last_complete_period
from services.notify.domain.report_content import (
    DIRECT_ACCOUNTS,
    NEEDS_ACCOUNTS,
    NEEDS_RUNS,
    SCHEDULED_TYPES,
    OwnedAccount,
    Report,
    ReportInput,
    build_report,
)
from services.notify.usecases.mail import queue_mail
from services.notify.usecases.recipients import settings_of

log = get_logger(__name__)

CSV_CONTENT_TYPE = "text/csv"


@dataclass(frozen=True)
class Links:
    keys: NotifyKeys
    public_base_url: str
    valid_days: int

    def report_url(self, file_id: uuid.UUID, expires_at: datetime) -> str:
        expires = int(expires_at.timestamp())
        return (f"{self.public_base_url.rstrip('/')}/api/v1/notifications/reports/{file_id}.csv"
                f"?expires={expires}&signature={self.keys.sign_link(file_id, expires)}")


@dataclass(frozen=True)
class Owner:
    id: uuid.UUID
    kind: TenantKind
    name: str


@dataclass
class TenantReports:
    recipients: dict[NotificationType, list[Recipient]] = field(default_factory=lambda: defaultdict(list))


def owners_of(source: TenancyReads, tenant: TenantInfo) -> list[Owner]:
    """Whose accounts a tenant's reports cover: a partner's own, or a distributor's partners and direct accounts."""
    if tenant.kind == TenantKind.PARTNER:
        return [Owner(tenant.id, TenantKind.PARTNER, tenant.name)]
    if tenant.kind == TenantKind.DISTRIBUTOR:
        partners = [Owner(p.id, TenantKind.PARTNER, p.name) for p in source.partners(tenant.id)]
        return [*partners, Owner(tenant.id, TenantKind.DISTRIBUTOR, DIRECT_ACCOUNTS)]
    return []


def gather(source: TenancyReads, tenant: TenantInfo, period: Period, types: Iterable[NotificationType]
           ) -> ReportInput:
    wanted = set(types)
    owners = owners_of(source, tenant)
    accounts = [OwnedAccount(owner.name, row) for owner in owners for row in source.accounts(owner.id, owner.kind)
                ] if wanted & NEEDS_ACCOUNTS else []
    runs = list(source.runs(tenant.id, period.start, period.end)) if wanted & NEEDS_RUNS and owners else []
    return ReportInput(tenant.name, period, accounts, runs, {owner.id: owner.name for owner in owners})


def _tenants_with_reports(uow: UnitOfWork) -> dict[uuid.UUID, TenantReports]:
    tenants: dict[uuid.UUID, TenantReports] = defaultdict(TenantReports)
    for recipient in uow.session.scalars(sa.select(Recipient).order_by(Recipient.tenant_id, Recipient.email)):
        for report_type in SCHEDULED_TYPES:
            if report_type.value in recipient.types:
                tenants[recipient.tenant_id].recipients[report_type].append(recipient)
    return tenants


def _gather_what_can_be(source: TenancyReads, tenant_id: uuid.UUID, period: Period,
                        pending: list[NotificationType]) -> tuple[ReportInput | None, list[NotificationType]]:
    """The data of the pending reports; when the runs cannot be had, of those that need no runs."""
    without_runs = [t for t in pending if t not in NEEDS_RUNS]
    for wanted in (pending, without_runs if without_runs != pending else []):
        if not wanted:
            continue
        try:
            return gather(source, source.tenant(tenant_id), period, wanted), wanted
        except Exception as exc:  # tried again next tick: nothing was claimed
            log.warning("report data unavailable", report_tenant_id=str(tenant_id),
                        reports=[t.value for t in wanted], error=short_error(exc))
    return None, []


def run_scheduled_reports(uow: UnitOfWork, source: TenancyReads, links: Links, now: datetime) -> int:
    """Send every report whose period is over and that was not sent yet; the number sent."""
    sent = 0
    for tenant_id, group in _tenants_with_reports(uow).items():
        settings = settings_of(uow, tenant_id)
        period = last_complete_period(settings.frequency, now)
        pending = [t for t in group.recipients if not claimed(uow, tenant_id, t.value, period)]
        uow.rollback()  # no transaction stays open over the RPCs below
        if not pending:
            continue
        data, pending = _gather_what_can_be(source, tenant_id, period, pending)
        if data is None:
            continue
        for report_type in pending:
            report = build_report(report_type, data)
            job = ReportJob(tenant_id, data.tenant_name, report_type, period)
            if send_report(uow, job, report, group.recipients[report_type], settings.csv_delivery, links, now):
                sent += 1
    return sent


@dataclass(frozen=True)
class ReportJob:
    tenant_id: uuid.UUID
    tenant_name: str
    report_type: NotificationType
    period: Period


def send_report(uow: UnitOfWork, job: ReportJob, report: Report | None, recipients: Sequence[Recipient],
                delivery: CsvDelivery, links: Links, now: datetime) -> bool:
    """Claim the period and queue the report's mail in one transaction; False when already claimed."""
    tenant_id, report_type, period = job.tenant_id, job.report_type, job.period
    run_id = claim(uow, tenant_id, report_type.value, period, now,
                   recipients=len(recipients) if report else 0, rows=report.rows if report else 0)
    if run_id is None:
        uow.rollback()
        return False
    if report is not None:
        context: dict[str, Any] = {"title": report.title, "tenant_name": job.tenant_name, "period_label":
                   period.label, "figures": [vars(f) for f in report.figures], "lines": report.lines}
        attachments: list[Attachment] = []
        if delivery is CsvDelivery.LINK:
            expires_at = now + timedelta(days=links.valid_days)
            file_id = uuid.uuid4()
            uow.session.add(ReportFile(id=file_id, report_run_id=run_id, tenant_id=tenant_id,
                                       filename=report.csv_filename, content=report.csv_text, created_at=now,
                                       expires_at=expires_at))
            context |= {"csv_url": links.report_url(file_id, expires_at),
                        "csv_expires": expires_at.strftime("%Y-%m-%d %H:%M UTC")}
        else:
            attachments = [Attachment(report.csv_filename, CSV_CONTENT_TYPE, report.csv_text.encode())]
            context["csv_attached"] = True
        for recipient in recipients:
            queue_mail(uow, SendMailRequest(template="scheduled_report", to=recipient.email,
                                            to_name=recipient.display_name, context=context, tenant_id=tenant_id,
                                            idempotency_key=f"report:{run_id}:{recipient.id}"),
                       now=now, attachments=attachments)
        uow.emit(NotifyEvent.REPORT_SENT, ReportSent(report_id=run_id, report_type=report_type,
                                                     period_start=period.start, period_end=period.end,
                                                     recipients=len(recipients)).to_wire(), tenant_id=tenant_id)
    uow.commit()
    log.info("report claimed", report_type=report_type.value, period_start=period.start.isoformat(),
             mailed=bool(report), recipients=len(recipients) if report else 0)
    return True
