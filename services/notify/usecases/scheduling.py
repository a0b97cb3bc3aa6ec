"""Use cases of the scheduler: reports, Backup Radar's daily CSV and health, password reminders.

Each scheduled thing is claimed in ``report_runs`` by (tenant, type, period start), in
the same transaction that queues its mail or webhooks: of two instances, or of a run
before and after a restart, exactly one sends it. The data is fetched from tenancy
*before* the claim (nothing is held open during the RPCs), and only for what is not
claimed yet. A tenant whose data cannot be fetched is skipped and tried again next tick.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from contracts.events import NotifyEvent
from contracts.notify import CsvDelivery, Frequency, NotificationType, ReportSent, SendMailRequest
from contracts.tenancy import AccountRow
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from servicekit.loops import short_error
from services.notify.adapters.keys import NotifyKeys
from services.notify.adapters.messages import Attachment
from services.notify.adapters.models import Integration, Recipient, ReportFile, ReportRun
from services.notify.adapters.rows import insert_once
from services.notify.adapters.upstream import ExpiringPassword, RunRow, TenancyReads, TenantInfo
from services.notify.domain.periods import Period, last_complete_period
from services.notify.settings import NotifySettings
from services.notify.usecases import backup_radar
from services.notify.usecases.mail import queue_mail
from services.notify.usecases.recipients import settings_of
from services.notify.usecases.reports import (
    DIRECT_ACCOUNTS,
    NEEDS_ACCOUNTS,
    NEEDS_RUNS,
    SCHEDULED_TYPES,
    OwnedAccount,
    Report,
    ReportInput,
    build_report,
)
from services.notify.usecases.webhooks import is_active, queue_webhook

log = get_logger(__name__)

BACKUP_RADAR_CSV = "backup_radar_csv"
BACKUP_RADAR_HEALTH = "backup_radar_health"
PASSWORD_REMINDERS = "password_reminders"  # noqa: S105 (a report type)
HEALTH_PAGE = 200
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
    kind: str
    name: str


@dataclass
class TenantReports:
    recipients: dict[NotificationType, list[Recipient]] = field(default_factory=lambda: defaultdict(list))


def _claimed(uow: UnitOfWork, tenant_id: uuid.UUID, report_type: str, period: Period) -> bool:
    return uow.session.execute(
        sa.select(ReportRun.id).where(ReportRun.tenant_id == tenant_id, ReportRun.report_type == report_type,
                                      ReportRun.period_start == period.start)
    ).first() is not None


def claim(uow: UnitOfWork, tenant_id: uuid.UUID, report_type: str, period: Period, now: datetime,
          recipients: int = 0, rows: int = 0) -> uuid.UUID | None:
    """The new run's id, or None when this (tenant, type, period) was claimed before."""
    run_id = uuid.uuid4()
    won = insert_once(uow.session, ReportRun.__table__, {  # type: ignore[arg-type]
        "id": run_id, "tenant_id": tenant_id, "report_type": report_type, "period_start": period.start,
        "period_end": period.end, "recipients": recipients, "rows": rows, "created_at": now,
    })
    return run_id if won else None


def owners_of(source: TenancyReads, tenant: TenantInfo) -> list[Owner]:
    """Whose accounts a tenant's reports cover: a partner's own, or a distributor's partners and direct accounts."""
    if tenant.kind == "partner":
        return [Owner(tenant.id, "partner", tenant.name)]
    if tenant.kind == "distributor":
        partners = [Owner(p.id, "partner", p.name) for p in source.partners(tenant.id)]
        return [*partners, Owner(tenant.id, "distributor", DIRECT_ACCOUNTS)]
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
        pending = [t for t in group.recipients if not _claimed(uow, tenant_id, t.value, period)]
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
        uow.emit(NotifyEvent.REPORT_SENT, ReportSent(report_id=run_id, report_type=report_type.value,
                                                     period_start=period.start, period_end=period.end,
                                                     recipients=len(recipients)).to_wire(), tenant_id=tenant_id)
    uow.commit()
    log.info("report claimed", report_type=report_type.value, period_start=period.start.isoformat(),
             mailed=bool(report), recipients=len(recipients) if report else 0)
    return True


# ---- Backup Radar ------------------------------------------------------------------------------------


def _enabled_integrations(uow: UnitOfWork) -> list[Integration]:
    rows = list(uow.session.scalars(
        sa.select(Integration).where(Integration.enabled.is_(True), Integration.disabled_at.is_(None))
        .order_by(Integration.tenant_id)
    ))
    uow.rollback()
    return rows


def run_backup_radar_daily(uow: UnitOfWork, source: TenancyReads, now: datetime) -> int:
    """Yesterday's generic-parser CSV mail per partner, and the account-health webhooks."""
    day = last_complete_period(Frequency.DAILY, now)
    done = 0
    for integration in _enabled_integrations(uow):
        jobs = []
        if integration.report_email:
            jobs.append(lambda i=integration: _csv_mails(uow, source, i.tenant_id, i.report_email, day, now))
        if is_active(integration):
            jobs.append(lambda i=integration: _health_webhooks(uow, source, i.tenant_id, day, now))
        for job in jobs:  # each on its own: the CSV needing runs never holds the health summary back
            try:
                done += job()
            except Exception as exc:
                uow.rollback()
                log.warning("backup radar data unavailable", distributor_id=str(integration.tenant_id),
                            error=short_error(exc))
    return done


def _csv_mails(uow: UnitOfWork, source: TenancyReads, distributor_id: uuid.UUID, to: str, day: Period,
               now: datetime) -> int:
    owners = owners_of(source, TenantInfo(id=distributor_id, kind="distributor", name=DIRECT_ACCOUNTS))
    pending = [o for o in owners if not _claimed(uow, o.id, BACKUP_RADAR_CSV, day)]
    uow.rollback()
    if not pending:
        return 0
    by_owner: dict[uuid.UUID, list[RunRow]] = defaultdict(list)
    for run in source.runs(distributor_id, day.start, day.end):
        by_owner[run.owner_id].append(run)
    sent = 0
    for owner in pending:
        text, rows = backup_radar.generic_parser_csv(owner.name, by_owner.get(owner.id, []))
        if claim(uow, owner.id, BACKUP_RADAR_CSV, day, now, recipients=1 if rows else 0, rows=rows) is None:
            uow.rollback()
            continue
        if rows:
            queue_mail(uow, SendMailRequest(
                template="backup_radar_csv", to=to, tenant_id=distributor_id,
                idempotency_key=f"backup-radar-csv:{owner.id}:{day.start.date().isoformat()}",
                context={"partner_name": owner.name, "report_date": day.start.date().isoformat(), "rows": rows},
            ), now=now, attachments=[Attachment(backup_radar.csv_filename(owner.name, day.start), CSV_CONTENT_TYPE,
                                                text.encode())])
            sent += 1
        uow.commit()
    return sent


def _health_webhooks(uow: UnitOfWork, source: TenancyReads, distributor_id: uuid.UUID, day: Period,
                     now: datetime) -> int:
    if _claimed(uow, distributor_id, BACKUP_RADAR_HEALTH, day):
        uow.rollback()
        return 0
    uow.rollback()
    owners = owners_of(source, TenantInfo(id=distributor_id, kind="distributor", name=DIRECT_ACCOUNTS))
    accounts: list[tuple[str, AccountRow]] = [(o.name, row) for o in owners for row in source.accounts(o.id, o.kind)]
    pages = max(1, math.ceil(len(accounts) / HEALTH_PAGE))
    if claim(uow, distributor_id, BACKUP_RADAR_HEALTH, day, now, recipients=1, rows=len(accounts)) is None:
        uow.rollback()
        return 0
    for page in range(1, pages + 1):
        chunk = accounts[(page - 1) * HEALTH_PAGE:page * HEALTH_PAGE]
        data = backup_radar.account_health_data(distributor_id, day.end, page, pages, chunk)
        queue_webhook(uow, distributor_id, f"health:{day.start.date().isoformat()}:{page}",
                      backup_radar.ACCOUNT_HEALTH, data, now)
    uow.commit()
    return pages


# ---- password expiry reminders -----------------------------------------------------------------------------


def reminder_threshold(expires_at: datetime, now: datetime, thresholds: Sequence[int]) -> int | None:
    """The reminder due for a password expiring at ``expires_at``: the smallest threshold (in
    days) the time left has reached, or None (too early, or already expired)."""
    if expires_at <= now:
        return None
    days_left = math.ceil((expires_at - now) / timedelta(days=1))
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached else None


def run_password_reminders(uow: UnitOfWork, fetch: Callable[[int], Iterable[ExpiringPassword]],
                           thresholds: Sequence[int], public_base_url: str, now: datetime) -> int:
    """Once a day: a reminder per user whose password expires within a threshold (one per threshold)."""
    today = Period(now.replace(hour=0, minute=0, second=0, microsecond=0),
                   now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    if _claimed(uow, OPERATOR_TENANT_ID, PASSWORD_REMINDERS, today):
        uow.rollback()
        return 0
    uow.rollback()
    users = list(fetch(max(thresholds)))
    if claim(uow, OPERATOR_TENANT_ID, PASSWORD_REMINDERS, today, now, recipients=len(users)) is None:
        uow.rollback()
        return 0
    queued = 0
    for user in users:
        threshold = reminder_threshold(user.password_expires_at, now, thresholds)
        if threshold is None:
            continue
        days = math.ceil((user.password_expires_at - now) / timedelta(days=1))
        queue_mail(uow, SendMailRequest(
            template="notice", to=user.email, to_name=user.display_name, tenant_id=user.tenant_id,
            idempotency_key=f"password-expiry:{user.user_id}:{user.password_expires_at.date().isoformat()}:{threshold}",
            context={
                "title": f"Your password expires in {days} day{'s' if days != 1 else ''}",
                "lines": [f"Your Backup Portal password expires on "
                          f"{user.password_expires_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
                          "Change it before then under your profile; afterwards you can only sign in to change it."],
                "action_url": public_base_url.rstrip("/") + "/",
            },
        ), now=now)
        queued += 1
    uow.commit()
    return queued


Expiring = Callable[[int], Iterable[ExpiringPassword]]


def run_due_jobs(uow: UnitOfWork, source: TenancyReads, links: Links, expiring: Expiring, settings: NotifySettings,
                 now: datetime) -> None:
    """One tick of the scheduler: reports whose period is over, Backup Radar's daily CSV and
    health, password reminders. One job's trouble never stops the others; the next tick retries."""
    jobs: dict[str, Callable[[], int]] = {
        "reports": lambda: run_scheduled_reports(uow, source, links, now),
        "backup_radar": lambda: run_backup_radar_daily(uow, source, now),
        "password_reminders": lambda: run_password_reminders(
            uow, expiring, settings.password_reminder_days, settings.public_base_url, now),
    }
    for name, job in jobs.items():
        try:
            done = job()
        except Exception as exc:
            uow.rollback()
            log.warning("scheduled job failed", job=name, error=short_error(exc))
            continue
        if done:
            log.info("scheduled job done", job=name, count=done)
