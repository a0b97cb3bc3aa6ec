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
from datetime import UTC, date, datetime

from contracts.billing import SKIP_LABELS, BillingMethod, BillingRunReply
from contracts.errors import ValidationFailed
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.billing.adapters import billing_inputs
from services.billing.adapters.invoice_store import already_billed, issue
from services.billing.adapters.models import Owner
from services.billing.adapters.processor import PaymentProcessor
from services.billing.adapters.sql import is_postgres
from services.billing.domain.billing_plan import (
    NewBill,
    Party,
    RunTally,
    annual_bills,
    annual_keys,
    consolidated_bills,
    consolidated_key,
    days_of,
    payers_with_a_method,
)
from services.billing.domain.periods import Period, month_ended_before
from services.billing.domain.pricebook import PriceBook
from services.billing.usecases.payments import charge_due_invoices, settle_pending
from services.billing.usecases.profiles import bill_to, profile_of
from services.billing.usecases.projection import fill_snapshots

log = get_logger(__name__)

MAX_LOGGED_IDS = 20
ANNUAL_BATCH = 1000
# Annual bills written per commit on PostgreSQL (each under its own savepoint). The year's
# reference counter stays locked until the commit: other issuers wait that long.
ANNUAL_COMMIT = 100


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


def _issue_all(uow: UnitOfWork, bills: list[NewBill], tally: RunTally, annual: bool, batched: bool = False) -> None:
    """Each bill issued under its period key; ``batched``: a commit per ``ANNUAL_COMMIT`` bills."""
    pending = 0
    for bill in bills:
        issued = issue(uow, bill, in_batch=batched)
        if issued is None:
            tally.already_billed += 1
            continue
        tally.issued(issued.reference, len(bill.composition.lines), annual=annual)
        pending += 1
        if batched and pending >= ANNUAL_COMMIT:
            uow.commit()
            pending = 0
    if batched:
        uow.commit()


def bill_month(uow: UnitOfWork, period: Period, as_of: date, book: PriceBook, tally: RunTally,
               distributor_id: uuid.UUID | None = None) -> int:
    """Consolidated bills of ``period``; returns how many monthly accounts have no known distributor."""
    session = uow.session
    distributors = billing_inputs.distributors_billed_in(session, period, distributor_id)
    unassigned = 0 if distributor_id is not None else billing_inputs.accounts_without_distributor(session, period)
    keys = {d: consolidated_key(d, period) for d in distributors}
    done = already_billed(uow, list(keys.values()))
    uow.commit()
    tally.already_billed += len(done)
    todo = sorted((d for d in distributors if keys[d] not in done), key=str)
    payers = parties(uow, todo)
    todo = payers_with_a_method(todo, payers, tally)
    if not todo:
        return unassigned
    for day in days_of(period):  # only when something is left to bill: the hourly timer stays cheap
        fill_snapshots(uow, day)
    usage = billing_inputs.monthly_usage(session, period, distributor_id)
    uow.commit()
    _issue_all(uow, consolidated_bills(todo, payers, usage, book, period, as_of), tally, annual=False)
    return unassigned


def bill_annual_terms(uow: UnitOfWork, as_of: date, book: PriceBook, tally: RunTally,
                      distributor_id: uuid.UUID | None = None) -> None:
    candidates = billing_inputs.annual_accounts(uow.session, as_of, distributor_id)
    payers = parties(uow, (a.distributor_id for a in candidates))
    chosen = set(payers_with_a_method(sorted({a.distributor_id for a in candidates}, key=str), payers, tally))
    candidates = [a for a in candidates if a.distributor_id in chosen]
    for start in range(0, len(candidates), ANNUAL_BATCH):
        batch = candidates[start:start + ANNUAL_BATCH]
        terms = annual_keys(batch, as_of)
        done = already_billed(uow, [key for _, key in terms.values()])
        todo = [a for a in batch if terms[a.id][1] not in done]
        tally.already_billed += len(batch) - len(todo)
        seats = billing_inputs.current_seats(uow.session, [a.id for a in todo])
        uow.commit()
        bills = annual_bills(todo, terms, payers, seats, book, as_of)
        _issue_all(uow, bills, tally, annual=True, batched=is_postgres(uow.session))


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
