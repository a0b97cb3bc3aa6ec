"""Use case of Backup Radar's daily work: yesterday's generic-parser CSV mail per partner, and the
account-health webhooks. Each is claimed in ``report_runs`` (adapters/report_runs.py) per day;
the data comes from tenancy before the claim. What the CSV and the webhooks hold is
services/notify/domain/backup_radar_content.py.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import datetime

from contracts.notify import Frequency, SendMailRequest
from contracts.tenancy import AccountRow, RunListRow
from contracts.vocabulary import TenantKind
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from servicekit.loops import short_error
from services.notify.adapters.models import Integration
from services.notify.adapters.report_runs import claim, claimed
from services.notify.adapters.upstream import TenancyReads, TenantInfo
from services.notify.adapters.webhook_queue import enabled_integrations
from services.notify.domain import backup_radar_content
from services.notify.domain.messages import Attachment
from services.notify.domain.periods import Period, last_complete_period
from services.notify.domain.report_content import DIRECT_ACCOUNTS
from services.notify.usecases.mail import queue_mail
from services.notify.usecases.scheduled_reports import CSV_CONTENT_TYPE, owners_of
from services.notify.usecases.webhooks import is_active, queue_webhook

log = get_logger(__name__)

BACKUP_RADAR_CSV = "backup_radar_csv"
BACKUP_RADAR_HEALTH = "backup_radar_health"
HEALTH_PAGE = 200


def _enabled_integrations(uow: UnitOfWork) -> list[Integration]:
    rows = enabled_integrations(uow.session)
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
    owners = owners_of(source, TenantInfo(id=distributor_id, kind=TenantKind.DISTRIBUTOR, name=DIRECT_ACCOUNTS))
    pending = [o for o in owners if not claimed(uow, o.id, BACKUP_RADAR_CSV, day)]
    uow.rollback()
    if not pending:
        return 0
    by_owner: dict[uuid.UUID, list[RunListRow]] = defaultdict(list)
    for run in source.runs(distributor_id, day.start, day.end):
        by_owner[run.owner_id].append(run)
    sent = 0
    for owner in pending:
        text, rows = backup_radar_content.generic_parser_csv(owner.name, by_owner.get(owner.id, []))
        if claim(uow, owner.id, BACKUP_RADAR_CSV, day, now, recipients=1 if rows else 0, rows=rows) is None:
            uow.rollback()
            continue
        if rows:
            queue_mail(uow, SendMailRequest(
                template="backup_radar_csv", to=to, tenant_id=distributor_id,
                idempotency_key=f"backup-radar-csv:{owner.id}:{day.start.date().isoformat()}",
                context={"partner_name": owner.name, "report_date": day.start.date().isoformat(), "rows": rows},
            ), now=now, attachments=[Attachment(backup_radar_content.csv_filename(owner.name, day.start),
                                                CSV_CONTENT_TYPE, text.encode())])
            sent += 1
        uow.commit()
    return sent


def _health_webhooks(uow: UnitOfWork, source: TenancyReads, distributor_id: uuid.UUID, day: Period,
                     now: datetime) -> int:
    if claimed(uow, distributor_id, BACKUP_RADAR_HEALTH, day):
        uow.rollback()
        return 0
    uow.rollback()
    owners = owners_of(source, TenantInfo(id=distributor_id, kind=TenantKind.DISTRIBUTOR, name=DIRECT_ACCOUNTS))
    accounts: list[tuple[str, AccountRow]] = [(o.name, row) for o in owners for row in source.accounts(o.id, o.kind)]
    pages = max(1, math.ceil(len(accounts) / HEALTH_PAGE))
    if claim(uow, distributor_id, BACKUP_RADAR_HEALTH, day, now, recipients=1, rows=len(accounts)) is None:
        uow.rollback()
        return 0
    for page in range(1, pages + 1):
        chunk = accounts[(page - 1) * HEALTH_PAGE:page * HEALTH_PAGE]
        data = backup_radar_content.account_health_data(distributor_id, day.end, page, pages, chunk)
        queue_webhook(uow, distributor_id, f"health:{day.start.date().isoformat()}:{page}",
                      backup_radar_content.ACCOUNT_HEALTH, data, now)
    uow.commit()
    return pages
