"""What a billing run bills from, read in a few set-based queries: the month's monthly
accounts and their peak seats, the annual accounts whose term may be due, and their seats.

Plain columns, not ORM objects: a run holds every monthly account of a month at once.
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.billing.adapters.models import Account, Task, UsageSnapshot
from services.billing.domain.billing_plan import AnnualAccount
from services.billing.domain.invoicing import AccountUsage, ServiceSeats
from services.billing.domain.periods import Period, active_days


def _billed_in(period: Period) -> list[sa.ColumnElement[bool]]:
    """Monthly accounts subscribed for at least one day of ``period``."""
    return [
        Account.plan == "monthly",
        Account.subscribed_on.is_not(None),
        Account.subscribed_on <= period.end,
        sa.or_(Account.removed_on.is_(None), Account.removed_on >= period.start),
    ]


def distributors_billed_in(session: Session, period: Period, distributor_id: uuid.UUID | None) -> list[uuid.UUID]:
    query = sa.select(Account.distributor_id).where(*_billed_in(period)).distinct()
    if distributor_id is not None:
        query = query.where(Account.distributor_id == distributor_id)
    return [d for d in session.execute(query).scalars() if d is not None]


def accounts_without_distributor(session: Session, period: Period) -> int:
    """Monthly accounts of ``period`` whose distributor billing has not learned: not billed."""
    return int(session.execute(
        sa.select(sa.func.count()).select_from(Account).where(Account.distributor_id.is_(None), *_billed_in(period))
    ).scalar_one())


def monthly_usage(session: Session, period: Period,
                  distributor_id: uuid.UUID | None = None) -> dict[uuid.UUID, list[AccountUsage]]:
    """Per distributor, each monthly account's peak daily seats per service within its
    subscribed days of ``period``: one pass over the month's snapshots for all of them."""
    in_period = [Account.distributor_id.is_not(None), *_billed_in(period)]
    if distributor_id is not None:
        in_period.append(Account.distributor_id == distributor_id)
    daily = (
        sa.select(UsageSnapshot.account_id, Task.service, UsageSnapshot.day,
                  sa.func.sum(UsageSnapshot.seats).label("seats"))
        .join(Task, Task.id == UsageSnapshot.task_id)
        .join(Account, Account.id == UsageSnapshot.account_id)
        .where(*in_period, UsageSnapshot.day >= period.start, UsageSnapshot.day <= period.end,
               UsageSnapshot.day >= Account.subscribed_on,
               sa.or_(Account.removed_on.is_(None), UsageSnapshot.day <= Account.removed_on))
        .group_by(UsageSnapshot.account_id, Task.service, UsageSnapshot.day)
        .subquery()
    )
    peaks: dict[uuid.UUID, list[ServiceSeats]] = {}
    for account_id, service, seats in session.execute(
        sa.select(daily.c.account_id, daily.c.service, sa.func.max(daily.c.seats))
        .group_by(daily.c.account_id, daily.c.service)
    ):
        peaks.setdefault(account_id, []).append(ServiceSeats(service, int(seats or 0)))
    usage: dict[uuid.UUID, list[AccountUsage]] = {}
    for account_id, name, partner_id, distributor, subscribed_on, removed_on in session.execute(
        sa.select(Account.id, Account.name, Account.partner_id, Account.distributor_id, Account.subscribed_on,
                  Account.removed_on).where(*in_period)
    ):
        if distributor is None:  # excluded by the query; for the type checker
            continue
        usage.setdefault(distributor, []).append(AccountUsage(
            account_id, name or str(account_id), partner_id, peaks.pop(account_id, []),
            active_days(period, subscribed_on, removed_on)))
    return usage


def annual_accounts(session: Session, as_of: date, distributor_id: uuid.UUID | None) -> list[AnnualAccount]:
    """Subscribed annual accounts whose subscription started by ``as_of``, by distributor and id."""
    query = sa.select(Account.id, Account.name, Account.partner_id, Account.distributor_id,
                      Account.subscribed_on).where(
        Account.plan == "annual", Account.status == "subscribed", Account.subscribed_on.is_not(None),
        Account.subscribed_on <= as_of, Account.distributor_id.is_not(None),
    )
    if distributor_id is not None:
        query = query.where(Account.distributor_id == distributor_id)
    found = []
    for account_id, name, partner_id, distributor, subscribed_on in session.execute(
        query.order_by(Account.distributor_id, Account.id)
    ):
        if distributor is not None and subscribed_on is not None:  # excluded by the query; for the type checker
            found.append(AnnualAccount(account_id, name, partner_id, distributor, subscribed_on))
    return found


def current_seats(session: Session, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ServiceSeats]]:
    """The seats each account's tasks protect now, per service."""
    seats: dict[uuid.UUID, list[ServiceSeats]] = {}
    for account_id, service, count in session.execute(
        sa.select(Task.account_id, Task.service, sa.func.sum(Task.seats))
        .where(Task.account_id.in_(account_ids)).group_by(Task.account_id, Task.service)
    ):
        seats.setdefault(account_id, []).append(ServiceSeats(service, int(count or 0)))
    return seats
