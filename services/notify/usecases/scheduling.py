"""Use case of the scheduler's tick: the job table. Reports whose period is over
(usecases/scheduled_reports.py), Backup Radar's daily CSV and health
(usecases/backup_radar_daily.py), password reminders (usecases/password_reminders.py).
One job's trouble never stops the others; the next tick retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from servicekit.loops import short_error
from services.notify.adapters.upstream import ExpiringPassword, TenancyReads
from services.notify.settings import NotifySettings
from services.notify.usecases.backup_radar_daily import run_backup_radar_daily
from services.notify.usecases.password_reminders import run_password_reminders
from services.notify.usecases.scheduled_reports import Links, run_scheduled_reports

log = get_logger(__name__)


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
