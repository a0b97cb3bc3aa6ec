"""Use case of the password expiry reminders: once a day, a mail per user whose password expires
within a threshold (one per threshold). The day is claimed in ``report_runs``
(adapters/report_runs.py); identity is asked for the users before the claim.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from contracts.context import OPERATOR_TENANT_ID
from contracts.notify import SendMailRequest
from servicekit.db import UnitOfWork
from services.notify.adapters.report_runs import claim, claimed
from services.notify.adapters.upstream import ExpiringPassword
from services.notify.domain.password_reminders import days_left, reminder_threshold
from services.notify.domain.periods import Period
from services.notify.usecases.mail import queue_mail

PASSWORD_REMINDERS = "password_reminders"  # noqa: S105 (a report type)


def run_password_reminders(uow: UnitOfWork, fetch: Callable[[int], Iterable[ExpiringPassword]],
                           thresholds: Sequence[int], public_base_url: str, now: datetime) -> int:
    """Once a day: a reminder per user whose password expires within a threshold (one per threshold)."""
    today = Period(now.replace(hour=0, minute=0, second=0, microsecond=0),
                   now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    if claimed(uow, OPERATOR_TENANT_ID, PASSWORD_REMINDERS, today):
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
        days = days_left(user.password_expires_at, now)
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
