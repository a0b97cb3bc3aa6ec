"""Billing runs: the daily timer's, and an operator's for a given day. Idempotent.

A run "as of" day D:

1. fills the usage snapshots of every day of the month that ended before D;
2. bills that month: per distributor one consolidated bill of its monthly accounts (one
   line per account subscribed for at least one day of it), due 30 days after D — or,
   with the credit-card method, charged automatically on D (or on the next payment day);
3. bills every annual term started on or before D and not billed yet: one invoice per
   account for the seats it protects now, due 30 days after D (a term with no protected
   seat yet waits for the first run that finds some);
4. makes the automatic card charges that are due, and completes interrupted ones.

A distributor that has not chosen its billing method yet is skipped whole: nothing is
issued for it and no period of it is claimed, so the first run after it chooses bills
those periods in full. The reply counts the distributors skipped, by reason.

The billing clock calls :func:`clock_tick` on every tick: the day it bills is the tick's
UTC calendar day, and every tick of a day (or after a restart) finds the same bills issued.

Every bill is issued under a unique period key, in a transaction of its own (annual bills
on PostgreSQL: 100 to a transaction, each under a savepoint), so a run repeated, or two
runs at once, bill each period once (services/billing/adapters/invoice_store.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from contracts.billing import SKIP_LABELS, BillingMethod, BillingRunReply, InvoiceKind, SkipReason
from contracts.errors import ValidationFailed
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.billing.adapters.invoice_store import NewBill, already_billed, annual_key, consolidated_key, issue
from services.billing.adapters.models import Account, Owner, Task, UsageSnapshot
from services.billing.adapters.processor import PaymentProcessor
from services.billing.adapters.sql import is_postgres
from services.billing.domain.invoicing import AccountUsage, ServiceSeats, compose_annual, compose_consolidated
from services.billing.domain.periods import Period, active_days, annual_term, due_date, month_ended_before
from services.billing.domain.pricebook import PriceBook
from services.billing.usecases.payments import charge_due_invoices, settle_pending
from services.billing.usecases.profiles import bill_to, profile_of
from services.billing.usecases.projection import fill_snapshots

log = get_logger(__name__)

MAX_REFERENCES = 100
MAX_LOGGED_IDS = 20
ANNUAL_BATCH = 1000
# Annual bills written per commit on PostgreSQL (each under its own savepoint). The year's
# reference counter stays locked until the commit: other issuers wait that long.
ANNUAL_COMMIT = 100


@dataclass
class RunTally:
    consolidated: int = 0
    annual: int = 0
    already_billed: int = 0
    accounts_billed: int = 0
    references: list[str] = field(default_factory=list)
    skipped: dict[SkipReason, set[uuid.UUID]] = field(default_factory=dict)

    def skip(self, distributor_id: uuid.UUID, reason: SkipReason) -> None:
        self.skipped.setdefault(reason, set()).add(distributor_id)

    def skipped_counts(self) -> dict[SkipReason, int]:
        return {reason: len(ids) for reason, ids in self.skipped.items()}

    def issued(self, reference: str, accounts: int, annual: bool) -> None:
        if annual:
            self.annual += 1
        else:
            self.consolidated += 1
        self.accounts_billed += accounts
        if len(self.references) < MAX_REFERENCES:
            self.references.append(reference)


def days_of(period: Period) -> Iterable[date]:
    for offset in range(period.days):
        yield period.start + timedelta(days=offset)


def _billed_in(period: Period) -> list[sa.ColumnElement[bool]]:
    """Monthly accounts subscribed for at least one day of ``period``."""
    return [
        Account.plan == "monthly",
        Account.subscribed_on.is_not(None),
        Account.subscribed_on <= period.end,
        sa.or_(Account.removed_on.is_(None), Account.removed_on >= period.start),
    ]


def monthly_usage(uow: UnitOfWork, period: Period,
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
    for account_id, service, seats in uow.session.execute(
        sa.select(daily.c.account_id, daily.c.service, sa.func.max(daily.c.seats))
        .group_by(daily.c.account_id, daily.c.service)
    ):
        peaks.setdefault(account_id, []).append(ServiceSeats(service, int(seats or 0)))
    usage: dict[uuid.UUID, list[AccountUsage]] = {}
    # Plain columns, not ORM objects: a run holds every monthly account of the month at once.
    for account_id, name, partner_id, distributor, subscribed_on, removed_on in uow.session.execute(
        sa.select(Account.id, Account.name, Account.partner_id, Account.distributor_id, Account.subscribed_on,
                  Account.removed_on).where(*in_period)
    ):
        if distributor is None:  # excluded by the query; for the type checker
            continue
        usage.setdefault(distributor, []).append(AccountUsage(
            account_id, name or str(account_id), partner_id, peaks.pop(account_id, []),
            active_days(period, subscribed_on, removed_on)))
    uow.commit()
    return usage


def _card_due_date(issue_day: date, payment_day: int | None) -> date:
    if payment_day is None or issue_day.day == payment_day:
        return issue_day
    if issue_day.day < payment_day:
        return issue_day.replace(day=payment_day)
    next_month = (issue_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return next_month.replace(day=payment_day)


@dataclass(frozen=True)
class Party:
    """Who a distributor's bills go to, and how it pays: read once per run."""

    currency: str
    method: BillingMethod | None  # None: not chosen yet, nothing is billed to it
    payment_day: int | None
    bill_to: list[str]


def parties(uow: UnitOfWork, distributor_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Party]:
    """Read (and create, committed) every payer's profile before any bill takes the reference
    counter's lock: an issuer holding that lock then never waits for a profile row."""
    found = {}
    for distributor_id in sorted(set(distributor_ids), key=str):
        profile = profile_of(uow, distributor_id)
        method = BillingMethod(profile.method) if profile.method else None
        found[distributor_id] = Party(profile.currency, method, profile.payment_day,
                                      bill_to(profile, uow.session.get(Owner, distributor_id)))
    uow.commit()
    return found


def bill_month(uow: UnitOfWork, period: Period, as_of: date, book: PriceBook, tally: RunTally,
               distributor_id: uuid.UUID | None = None) -> int:
    """Consolidated bills of ``period``; returns how many monthly accounts have no known distributor."""
    query = sa.select(Account.distributor_id).where(*_billed_in(period)).distinct()
    if distributor_id is not None:
        query = query.where(Account.distributor_id == distributor_id)
    distributors = [d for d in uow.session.execute(query).scalars() if d is not None]
    unassigned = 0 if distributor_id is not None else int(uow.session.execute(
        sa.select(sa.func.count()).select_from(Account).where(Account.distributor_id.is_(None), *_billed_in(period))
    ).scalar_one())
    keys = {d: consolidated_key(d, period) for d in distributors}
    done = already_billed(uow, list(keys.values()))
    uow.commit()
    tally.already_billed += len(done)
    todo = sorted((d for d in distributors if keys[d] not in done), key=str)
    payers = parties(uow, todo)
    for distributor in todo:
        if payers[distributor].method is None:
            tally.skip(distributor, SkipReason.METHOD_NOT_CHOSEN)
    todo = [d for d in todo if payers[d].method is not None]
    if todo:
        for day in days_of(period):  # only when something is left to bill: the hourly timer stays cheap
            fill_snapshots(uow, day)
    usage = monthly_usage(uow, period, distributor_id) if todo else {}
    for distributor in todo:
        payer = payers[distributor]
        assert payer.method is not None  # the others were skipped above
        composition = compose_consolidated(usage.get(distributor, []), book, payer.currency, period)
        if not composition.lines:
            continue
        card = payer.method is BillingMethod.CREDIT_CARD
        bill = NewBill(
            kind=InvoiceKind.CONSOLIDATED, period_key=keys[distributor], distributor_id=distributor, account_id=None,
            composition=composition, issue_date=as_of,
            due_date=_card_due_date(as_of, payer.payment_day) if card else due_date(as_of),
            method=payer.method, bill_to=payer.bill_to, auto_charge=card,
        )
        issued = issue(uow, bill)
        if issued is None:
            tally.already_billed += 1
        else:
            tally.issued(issued.reference, len(composition.lines), annual=False)
    return unassigned


def _annual_candidates(uow: UnitOfWork, as_of: date, distributor_id: uuid.UUID | None) -> list[Account]:
    query = sa.select(Account).where(
        Account.plan == "annual", Account.status == "subscribed", Account.subscribed_on.is_not(None),
        Account.subscribed_on <= as_of, Account.distributor_id.is_not(None),
    )
    if distributor_id is not None:
        query = query.where(Account.distributor_id == distributor_id)
    return list(uow.session.execute(query.order_by(Account.distributor_id, Account.id)).scalars())


def _current_seats(uow: UnitOfWork, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ServiceSeats]]:
    seats: dict[uuid.UUID, list[ServiceSeats]] = {}
    for account_id, service, count in uow.session.execute(
        sa.select(Task.account_id, Task.service, sa.func.sum(Task.seats))
        .where(Task.account_id.in_(account_ids)).group_by(Task.account_id, Task.service)
    ):
        seats.setdefault(account_id, []).append(ServiceSeats(service, int(count or 0)))
    return seats


def bill_annual_terms(uow: UnitOfWork, as_of: date, book: PriceBook, tally: RunTally,
                      distributor_id: uuid.UUID | None = None) -> None:
    candidates = _annual_candidates(uow, as_of, distributor_id)
    payers = parties(uow, (a.distributor_id for a in candidates if a.distributor_id is not None))
    for account in candidates:
        if account.distributor_id is not None and payers[account.distributor_id].method is None:
            tally.skip(account.distributor_id, SkipReason.METHOD_NOT_CHOSEN)
    candidates = [a for a in candidates if a.distributor_id is not None and payers[a.distributor_id].method is not None]
    for start in range(0, len(candidates), ANNUAL_BATCH):
        batch = candidates[start:start + ANNUAL_BATCH]
        terms = {a.id: annual_term(a.subscribed_on, as_of) for a in batch if a.subscribed_on}
        keys = {account_id: annual_key(account_id, term) for account_id, term in terms.items()}
        done = already_billed(uow, list(keys.values()))
        todo = [a for a in batch if keys[a.id] not in done]
        tally.already_billed += len(batch) - len(todo)
        seats = _current_seats(uow, [a.id for a in todo])
        uow.commit()
        batched = is_postgres(uow.session)
        pending = 0
        for account in todo:
            assert account.distributor_id is not None
            term = terms[account.id]
            payer = payers[account.distributor_id]
            usage = AccountUsage(account.id, account.name or str(account.id), account.partner_id,
                                 seats.get(account.id, []), term.days)
            composition = compose_annual(usage, book, payer.currency, term)
            if not composition.lines:
                continue  # nothing protected yet: billed by the first run that finds seats
            issued = issue(uow, NewBill(
                kind=InvoiceKind.ANNUAL, period_key=keys[account.id], distributor_id=account.distributor_id,
                account_id=account.id, composition=composition, issue_date=as_of, due_date=due_date(as_of),
                method=BillingMethod.INVOICE, bill_to=payer.bill_to, auto_charge=False,
            ), in_batch=batched)
            if issued is None:
                tally.already_billed += 1
            else:
                tally.issued(issued.reference, 1, annual=True)
                pending += 1
            if pending >= ANNUAL_COMMIT:
                uow.commit()
                pending = 0
        uow.commit()


def run_billing(uow: UnitOfWork, as_of: date, book: PriceBook, processor: PaymentProcessor,
                distributor_id: uuid.UUID | None = None, today: date | None = None) -> BillingRunReply:
    today = today or datetime.now(UTC).date()
    if as_of > today:
        raise ValidationFailed.for_field("as_of", "a billing run cannot be for a day still to come")
    period = month_ended_before(as_of)
    tally = RunTally()
    unassigned = bill_month(uow, period, as_of, book, tally, distributor_id)
    bill_annual_terms(uow, as_of, book, tally, distributor_id)
    succeeded, failed = charge_due_invoices(uow, as_of, processor, distributor_id)
    settle_pending(uow, processor)
    if unassigned:
        log.warning("monthly accounts without a known distributor were not billed", accounts=unassigned)
    for reason, skipped in tally.skipped.items():
        log.warning(f"distributors skipped, nothing billed to them: {SKIP_LABELS[reason]}", reason=reason.value,
                    distributors=len(skipped),
                    distributor_ids=sorted(str(d) for d in skipped)[:MAX_LOGGED_IDS])
    log.info("billing run", as_of=as_of.isoformat(), consolidated=tally.consolidated, annual=tally.annual,
             already_billed=tally.already_billed, charges_succeeded=succeeded, charges_failed=failed,
             distributors_skipped={reason.value: count for reason, count in tally.skipped_counts().items()})
    return BillingRunReply(
        as_of=as_of, period_start=period.start, period_end=period.end, consolidated_invoices=tally.consolidated,
        annual_invoices=tally.annual, already_billed=tally.already_billed, accounts_billed=tally.accounts_billed,
        accounts_unassigned=unassigned, charges_succeeded=succeeded, charges_failed=failed,
        references=tally.references, distributors_skipped=tally.skipped_counts(),
    )


def clock_tick(uow: UnitOfWork, book: PriceBook, processor: PaymentProcessor, now: datetime) -> BillingRunReply:
    """One tick of the billing clock at ``now``: the day's usage snapshots, then the run as of
    that UTC calendar day. The month before is billed by the first tick on the 1st (or the first
    after it, when the service was down); later ticks and restarts find it billed."""
    today = now.astimezone(UTC).date()
    fill_snapshots(uow, today)
    return run_billing(uow, today, book, processor, today=today)
