"""Billing on the real use cases and a real (SQLite) database: tenancy's events in, bills out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.billing import (
    BillingFactsRequest,
    BillingFilterRequest,
    BillingMethod,
    BillingStatus,
    CardAddRequest,
    HistoryQuery,
    PaymentMethod,
    RecordPaymentRequest,
    RollupQuery,
    RollupStatus,
    SkipReason,
    StatusQuery,
)
from contracts.context import Caller
from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.tenancy import BackupService, DefaultSubscription, Plan
from servicekit.context import CallContext
from servicekit.idempotency import claim
from services.billing.adapters.models import Account, Invoice, Payment, UsageSnapshot
from services.billing.adapters.price_book_file import load_price_book
from services.billing.adapters.processor import LocalTestProcessor
from services.billing.usecases import billing_facts, payments, profiles, projection, queries
from services.billing.usecases import billing_run as runs
from services.billing.usecases.access import billing_scope
from tests.support import billing_simulation as simulate
from tests.support.fixtures import MigratedDatabase

ROOT = Path(__file__).resolve().parents[2]
BOOK = load_price_book()
TODAY = date(2026, 12, 5)
OPERATOR = uuid.UUID("00000000-0000-4000-8000-000000000001")


def at(day: date, hour: int = 3) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def billing_db(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[MigratedDatabase]:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path / "var"))
    db = MigratedDatabase("billing", ROOT / "services" / "billing" / "adapters" / "migrations", f"sqlite:///{tmp_path}/billing.db")
    yield db
    db.dispose()


@pytest.fixture
def processor(tmp_path: Any) -> LocalTestProcessor:
    return LocalTestProcessor(tmp_path / "processor.db")


def feed(db: MigratedDatabase, *envelopes: Any) -> None:
    """What the idempotent handlers do with each event."""
    for envelope in envelopes:
        uow = db.unit_of_work()
        if claim(uow.session, envelope.event_id, "test"):
            projection.apply(uow, envelope)
            uow.commit()


class Tree:
    """A distributor with a partner, and helpers that add accounts the way tenancy announces them."""

    def __init__(self, db: MigratedDatabase, method: BillingMethod | None = BillingMethod.INVOICE) -> None:
        self.db = db
        self.distributor = uuid.uuid4()
        self.partner = uuid.uuid4()
        feed(db, simulate.tenant_created(self.distributor, OPERATOR, "distributor", "Northwind"),
             simulate.tenant_created(self.partner, self.distributor, "partner", "Contoso IT", "P-7K2M9Q"))
        if method is not None:  # the distributor's first visit to Billing
            self.choose(method)

    def choose(self, method: BillingMethod) -> None:
        profiles.choose_method(self.db.unit_of_work(), self.scope(), method)

    def account(self, name: str, plan: Plan | None, subscribed: date | None, seats: dict[BackupService, int],
                run_days: list[date], direct: bool = False) -> uuid.UUID:
        account_id, owner = uuid.uuid4(), self.distributor if direct else self.partner
        kind = "distributor" if direct else "partner"
        events = [simulate.tenant_created(account_id, owner, "account", name),
                  simulate.account_created(account_id, owner, kind, name, DefaultSubscription.TRIAL_EXPIRING)]
        if plan is not None and subscribed is not None:
            events.append(simulate.account_subscribed(account_id, owner, plan, at(subscribed, 9)))
        for service, count in seats.items():
            task = uuid.uuid4()
            events.append(simulate.task_added(task, account_id, service))
            events += [simulate.run_recorded(task, account_id, owner, at(day), count) for day in run_days]
        feed(self.db, *events)
        return account_id

    def caller(self, kind: str = "distributor", **extra: Any) -> CallContext:
        tenant = {"distributor": self.distributor, "partner": self.partner, "operator": OPERATOR}.get(kind, uuid.uuid4())
        return CallContext("billing", Caller(user_id=uuid.uuid4(), tenant_id=tenant, tenant_kind=kind,
                                             role="administrator", **extra), "test")

    def scope(self, kind: str = "distributor") -> Any:
        return billing_scope(self.caller(kind), self.distributor if kind == "operator" else None)


@pytest.fixture
def tree(billing_db: MigratedDatabase) -> Tree:
    """A distributor that has chosen to be billed by invoice."""
    return Tree(billing_db)


@pytest.fixture
def undecided(billing_db: MigratedDatabase) -> Tree:
    """A distributor that has not chosen its billing method yet."""
    return Tree(billing_db, method=None)


def november_of_a_small_distributor(tree: Tree) -> dict[str, uuid.UUID]:
    """The hand-checked month: November 2026 (30 days), USD."""
    return {
        # 10 Exchange + 10 OneDrive seats all month: 10 x 2.50 + 10 x 2.00 = 45.00
        "alpine": tree.account("Alpine Dental", Plan.MONTHLY, date(2026, 10, 12),
                               {BackupService.EXCHANGE: 10, BackupService.ONEDRIVE: 10}, [date(2026, 10, 30)]),
        # subscribed 16 Nov, 7 seats: 7 x 2.50 x 15/30 = 8.75
        "birch": tree.account("Birch Legal", Plan.MONTHLY, date(2026, 11, 16), {BackupService.EXCHANGE: 7},
                              [date(2026, 11, 16), date(2026, 11, 20)]),
        # a direct account, 3 Dropbox seats from 28 Nov: 3 x 2.25 x 3/30 = 0.675 -> 0.68
        "dune": tree.account("Dune Studio", Plan.MONTHLY, date(2026, 11, 28), {BackupService.DROPBOX: 3},
                             [date(2026, 11, 28)], direct=True),
        # still a trial: not billed
        "trial": tree.account("Elm Trial", None, None, {BackupService.EXCHANGE: 50}, [date(2026, 11, 3)]),
    }


def account_row(db: MigratedDatabase, account_id: uuid.UUID) -> Account:
    uow = db.unit_of_work()
    row = uow.session.get(Account, account_id)
    uow.session.expunge_all()
    return row


def snapshot_days_by_task(db: MigratedDatabase, account_id: uuid.UUID) -> set[uuid.UUID]:
    uow = db.unit_of_work()
    return set(uow.session.execute(sa.select(UsageSnapshot.task_id)
                                   .where(UsageSnapshot.account_id == account_id)).scalars())


def snapshot_days(db: MigratedDatabase, task_id: uuid.UUID) -> dict[date, int]:
    uow = db.unit_of_work()
    return dict(uow.session.execute(sa.select(UsageSnapshot.day, UsageSnapshot.seats)
                                    .where(UsageSnapshot.task_id == task_id)).all())


def run(db: MigratedDatabase, processor: LocalTestProcessor, as_of: date = date(2026, 12, 1)) -> Any:
    return runs.run_billing(db.unit_of_work(), as_of, BOOK, processor, today=TODAY)


def invoices(db: MigratedDatabase) -> list[Invoice]:
    uow = db.unit_of_work()
    rows = list(uow.session.execute(sa.select(Invoice).order_by(Invoice.reference)).scalars())
    uow.session.expunge_all()  # plain values, still readable after the next unit of work
    return rows


# ---- projection --------------------------------------------------------------------------------------


def test_accounts_learn_their_distributor_whatever_order_the_events_arrive_in(billing_db):
    distributor, partner, account = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    feed(billing_db,
         simulate.run_recorded(uuid.uuid4(), account, partner, at(date(2026, 11, 2)), 4),
         simulate.account_subscribed(account, partner, Plan.MONTHLY, at(date(2026, 11, 1))),
         simulate.account_created(account, partner, "partner", "Late Partner Ltd"),
         simulate.tenant_created(partner, distributor, "partner", "Contoso IT"))

    row = account_row(billing_db, account)
    assert (row.distributor_id, row.partner_id, row.plan, row.status, row.seats) == (
        distributor, partner, "monthly", "subscribed", 4)
    assert row.subscribed_on == date(2026, 11, 1)


def test_a_lifecycle_only_moves_forward(billing_db, tree):
    account = tree.account("Fir Co", Plan.MONTHLY, date(2026, 11, 1), {}, [])
    feed(billing_db, simulate.account_removed(account, tree.partner, "Fir Co", at(date(2026, 11, 10))),
         simulate.trial_expired(account, tree.partner, at(date(2026, 11, 5))))

    row = account_row(billing_db, account)
    assert (row.status, row.removed_on) == ("removed", date(2026, 11, 10))


def test_the_same_event_twice_is_projected_once(billing_db, tree):
    task, account = uuid.uuid4(), tree.account("Gum Co", Plan.MONTHLY, date(2026, 11, 1), {}, [])
    event = simulate.run_recorded(task, account, tree.partner, at(date(2026, 11, 2)), 9)
    feed(billing_db, event, event)

    assert billing_db.unit_of_work().session.get(Account, account).seats == 9


def test_a_batch_keeps_each_tasks_newest_seats_and_each_days_peak(billing_db, tree):
    account = tree.account("Gorse Ltd", Plan.MONTHLY, date(2026, 11, 1), {}, [])
    mail, files = uuid.uuid4(), uuid.uuid4()
    day1, day2 = date(2026, 11, 1), date(2026, 11, 2)
    feed(billing_db, simulate.runs_recorded([  # in no particular order, as an engine reports
        (mail, account, tree.partner, at(day2, 9), 6), (files, account, tree.partner, at(day1), 3),
        (mail, account, tree.partner, at(day1, 2), 4), (mail, account, tree.partner, at(day1, 8), 7),
        (mail, account, tree.partner, at(day2, 1), 5),
    ]))

    assert snapshot_days(billing_db, mail) == {day1: 7, day2: 6}
    assert snapshot_days(billing_db, files) == {day1: 3}
    assert account_row(billing_db, account).seats == 6 + 3  # each task's newest run


def test_a_late_run_corrects_the_days_carried_forward_after_it(billing_db, tree):
    task, account = uuid.uuid4(), tree.account("Hazel", Plan.MONTHLY, date(2026, 11, 1), {}, [])
    feed(billing_db, simulate.run_recorded(task, account, tree.partner, at(date(2026, 11, 1)), 5))
    for day in (2, 3, 4):
        projection.fill_snapshots(billing_db.unit_of_work(), date(2026, 11, day))
    feed(billing_db, simulate.run_recorded(task, account, tree.partner, at(date(2026, 11, 2)), 8))

    assert snapshot_days(billing_db, task) == {date(2026, 11, 1): 5, date(2026, 11, 2): 8, date(2026, 11, 3): 8,
                                               date(2026, 11, 4): 8}
    assert account_row(billing_db, account).seats == 8  # the newest run


def test_a_first_run_reported_after_its_days_were_filled_fills_them_in(billing_db, tree):
    task, account = uuid.uuid4(), tree.account("Holly", Plan.MONTHLY, date(2026, 11, 1), {}, [])
    for day in (1, 2, 3):
        projection.fill_snapshots(billing_db.unit_of_work(), date(2026, 11, day))
    feed(billing_db, simulate.run_recorded(task, account, tree.partner, at(date(2026, 11, 1)), 6))

    assert snapshot_days(billing_db, task) == {date(2026, 11, 1): 6, date(2026, 11, 2): 6, date(2026, 11, 3): 6}


# ---- billing runs --------------------------------------------------------------------------------------


def test_a_month_of_usage_gives_the_expected_consolidated_invoice_to_the_cent(billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)

    reply = run(billing_db, processor)

    assert (reply.consolidated_invoices, reply.annual_invoices, reply.accounts_billed) == (1, 0, 3)
    [invoice] = invoices(billing_db)
    assert invoice.total == Decimal("54.43")  # 45.00 + 8.75 + 0.68
    assert (invoice.reference, invoice.kind, invoice.period_start, invoice.period_end) == (
        "INV-2026-000001", "consolidated", date(2026, 11, 1), date(2026, 11, 30))
    assert (invoice.issue_date, invoice.due_date, invoice.method) == (date(2026, 12, 1), date(2026, 12, 31), "invoice")
    event = billing_db.events("invoice_issued")[-1]
    assert event["tenant_id"] == str(tree.distributor)
    assert event["payload"]["amount"] == "54.43" and event["payload"]["lines"] == 3
    document = queries.bill_document(billing_db.unit_of_work(), tree.scope(), invoice.reference)
    assert {line.account_id: line.amount for line in document.lines} == {
        ids["alpine"]: Decimal("45.00"), ids["birch"]: Decimal("8.75"), ids["dune"]: Decimal("0.68")}


def test_running_the_same_period_twice_issues_nothing_new(billing_db, tree, processor):
    november_of_a_small_distributor(tree)
    run(billing_db, processor)

    again = run(billing_db, processor, as_of=date(2026, 12, 3))

    assert (again.consolidated_invoices, again.annual_invoices, again.already_billed) == (0, 0, 1)
    assert len(invoices(billing_db)) == 1
    assert len(billing_db.events("invoice_issued")) == 1


def test_a_period_already_billed_gives_its_reference_number_back(billing_db, tree, processor):
    from services.billing.adapters.invoice_store import next_reference

    november_of_a_small_distributor(tree)
    run(billing_db, processor)
    uow = billing_db.unit_of_work()
    assert next_reference(uow, 2026) == "INV-2026-000002"
    uow.rollback()  # as an issuer that found its period billed does

    tree.account("Ivy", Plan.ANNUAL, date(2026, 12, 2), {BackupService.TEAMS: 2}, [date(2026, 12, 2)])
    run(billing_db, processor, as_of=date(2026, 12, 2))
    assert [i.reference for i in invoices(billing_db)] == ["INV-2026-000001", "INV-2026-000002"]


def test_an_annual_account_gets_its_own_invoice_due_in_thirty_days(billing_db, tree, processor):
    account = tree.account("Juniper", Plan.ANNUAL, date(2026, 11, 20), {BackupService.EXCHANGE: 12},
                           [date(2026, 11, 20)])

    reply = run(billing_db, processor, as_of=date(2026, 11, 20))

    assert reply.annual_invoices == 1
    [invoice] = invoices(billing_db)
    assert (invoice.kind, invoice.account_id, invoice.total) == ("annual", account, Decimal("324.00"))  # 12 x 27.00
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 11, 20), date(2026, 12, 20))
    assert (invoice.period_start, invoice.period_end) == (date(2026, 11, 20), date(2027, 11, 19))
    assert run(billing_db, processor, as_of=date(2026, 11, 25)).annual_invoices == 0


def test_an_annual_term_with_nothing_protected_waits_for_seats(billing_db, tree, processor):
    account = tree.account("Kelp", Plan.ANNUAL, date(2026, 11, 20), {}, [])
    assert run(billing_db, processor, as_of=date(2026, 11, 20)).annual_invoices == 0

    feed(billing_db, simulate.run_recorded(uuid.uuid4(), account, tree.partner, at(date(2026, 11, 22)), 3))
    assert run(billing_db, processor, as_of=date(2026, 11, 22)).annual_invoices == 1


def test_a_run_for_a_day_to_come_is_refused(billing_db, processor):
    with pytest.raises(ValidationFailed):
        run(billing_db, processor, as_of=date(2026, 12, 6))


# ---- no bill before the method is chosen ----------------------------------------------------------------


class FakeLog:
    """Stands in for a module's structlog logger: keeps what was logged."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **fields: self.lines.append((level, event, fields))


def test_a_run_bills_nothing_to_a_distributor_that_has_not_chosen_its_method(billing_db, undecided, processor,
                                                                            monkeypatch):
    november_of_a_small_distributor(undecided)
    undecided.account("Juniper", Plan.ANNUAL, date(2026, 11, 20), {BackupService.EXCHANGE: 12}, [date(2026, 11, 20)])
    billed_elsewhere = Tree(billing_db)  # another distributor, invoice chosen: billed as usual
    billed_elsewhere.account("Maple", Plan.MONTHLY, date(2026, 11, 1), {BackupService.TEAMS: 2}, [date(2026, 11, 2)])
    monkeypatch.setattr(runs, "log", log := FakeLog())

    reply = run(billing_db, processor)

    assert (reply.consolidated_invoices, reply.annual_invoices, reply.already_billed) == (1, 0, 0)
    assert reply.distributors_skipped == {SkipReason.METHOD_NOT_CHOSEN: 1}
    assert reply.to_wire()["distributors_skipped"] == {"billing_method_not_chosen": 1}
    assert {invoice.distributor_id for invoice in invoices(billing_db)} == {billed_elsewhere.distributor}
    assert [e["tenant_id"] for e in billing_db.events("invoice_issued")] == [str(billed_elsewhere.distributor)]
    uow = billing_db.unit_of_work()  # no period of the undecided distributor is claimed
    assert uow.session.execute(sa.select(Invoice.period_key).where(
        Invoice.distributor_id == undecided.distributor)).all() == []
    [warning] = [line for line in log.lines if line[0] == "warning"]
    assert "billing method not chosen" in warning[1]
    assert warning[2] == {"reason": "billing_method_not_chosen", "distributors": 1,
                          "distributor_ids": [str(undecided.distributor)]}


def test_once_the_method_is_chosen_the_next_run_bills_the_skipped_period_in_full_and_once(billing_db, undecided,
                                                                                          processor):
    november_of_a_small_distributor(undecided)
    undecided.account("Juniper", Plan.ANNUAL, date(2026, 11, 20), {BackupService.EXCHANGE: 12}, [date(2026, 11, 20)])
    skipped = run(billing_db, processor)
    undecided.choose(BillingMethod.INVOICE)

    billed = run(billing_db, processor, as_of=date(2026, 12, 3))
    again = run(billing_db, processor, as_of=date(2026, 12, 4))

    assert (skipped.consolidated_invoices, skipped.annual_invoices) == (0, 0)
    assert (billed.consolidated_invoices, billed.annual_invoices, billed.distributors_skipped) == (1, 1, {})
    assert (again.consolidated_invoices, again.annual_invoices, again.already_billed) == (0, 0, 2)
    consolidated, annual = invoices(billing_db)
    assert (consolidated.kind, consolidated.total, consolidated.period_start, consolidated.period_end) == (
        "consolidated", Decimal("54.43"), date(2026, 11, 1), date(2026, 11, 30))  # the whole of November
    assert (consolidated.issue_date, consolidated.due_date, consolidated.method) == (
        date(2026, 12, 3), date(2027, 1, 2), "invoice")
    assert (annual.kind, annual.total) == ("annual", Decimal("324.00"))
    assert len(billing_db.events("invoice_issued")) == 2


# ---- the billing clock ----------------------------------------------------------------------------------


def tick(db: MigratedDatabase, processor: LocalTestProcessor, now: datetime) -> Any:
    """What the service's timer entrypoint does on a tick, at a moment of the test's choosing."""
    return runs.clock_tick(db.unit_of_work(), BOOK, processor, now)


def test_the_clock_bills_the_month_on_the_first_utc_tick_of_the_first_and_never_again(billing_db, tree, processor,
                                                                                      tmp_path):
    from datetime import timedelta, timezone

    november_of_a_small_distributor(tree)

    last_of_november = tick(billing_db, processor, datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    first_in_berlin = tick(billing_db, processor, datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    first = tick(billing_db, processor, datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    an_hour_later = tick(billing_db, processor, datetime(2026, 12, 1, 1, 5, tzinfo=UTC))
    restarted = LocalTestProcessor(tmp_path / "processor.db")  # a new service instance, the same stores
    after_restart = tick(billing_db, restarted, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))

    assert [r.as_of for r in (last_of_november, first_in_berlin, first)] == [date(2026, 11, 30)] * 2 + [
        date(2026, 12, 1)]
    assert [(r.period_start, r.consolidated_invoices) for r in (last_of_november, first_in_berlin, first,
                                                                an_hour_later, after_restart)] == [
        (date(2026, 10, 1), 1),  # October (Alpine's days of it), on the 30th: not November yet
        (date(2026, 10, 1), 0), (date(2026, 11, 1), 1), (date(2026, 11, 1), 0), (date(2026, 11, 1), 0)]
    assert (an_hour_later.already_billed, after_restart.already_billed) == (1, 1)
    november = [i for i in invoices(billing_db) if i.period_start == date(2026, 11, 1)]
    assert [(i.period_end, i.issue_date, i.total) for i in november] == [
        (date(2026, 11, 30), date(2026, 12, 1), Decimal("54.43"))]
    assert len(billing_db.events("invoice_issued")) == 2  # October's and November's, once each


def test_the_clock_fills_the_days_snapshots_and_bills_the_next_month_on_its_first(billing_db, tree, processor):
    account = tree.account("Oak", Plan.MONTHLY, date(2026, 11, 1), {BackupService.EXCHANGE: 4}, [date(2026, 11, 1)])
    task = next(iter(snapshot_days_by_task(billing_db, account)))

    tick(billing_db, processor, datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    for day in range(2, 32):
        tick(billing_db, processor, datetime(2026, 12, day, 0, 5, tzinfo=UTC))
    new_year = tick(billing_db, processor, datetime(2027, 1, 1, 0, 5, tzinfo=UTC))

    assert date(2026, 12, 31) in snapshot_days(billing_db, task)  # each tick filled its own day
    assert (new_year.consolidated_invoices, new_year.period_start, new_year.period_end) == (
        1, date(2026, 12, 1), date(2026, 12, 31))
    assert [(i.period_start, i.total) for i in invoices(billing_db)] == [
        (date(2026, 11, 1), Decimal("10.00")), (date(2026, 12, 1), Decimal("10.00"))]  # 4 x 2.50 each month


# ---- status, payments, roll-ups -------------------------------------------------------------------------


def status_of(db: MigratedDatabase, tree: Tree, account: uuid.UUID, today: date) -> Any:
    page = queries.account_status_page(db.unit_of_work(), tree.scope(), StatusQuery(account_ids=[account]), BOOK,
                                       today)
    return page.items[0]


def test_an_unpaid_invoice_is_due_then_overdue_the_day_after_and_paying_makes_it_current(billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    [invoice] = invoices(billing_db)

    due = status_of(billing_db, tree, ids["alpine"], date(2026, 12, 31))
    assert (due.billing_status, due.amount_due, due.subscription) == (BillingStatus.DUE, Decimal("45.00"), Plan.MONTHLY)
    assert status_of(billing_db, tree, ids["alpine"], date(2027, 1, 1)).billing_status is BillingStatus.OVERDUE
    assert status_of(billing_db, tree, ids["trial"], date(2027, 1, 1)).billing_status is BillingStatus.NONE

    payments.record_payment(billing_db.unit_of_work(), uuid.uuid4(), RecordPaymentRequest(
        reference=invoice.reference, method=PaymentMethod.PAYPAL, amount=Decimal("54.43"), currency="USD"), BOOK)

    paid = status_of(billing_db, tree, ids["alpine"], date(2027, 1, 1))
    assert (paid.billing_status, paid.amount_due) == (BillingStatus.CURRENT, Decimal("0.00"))
    assert billing_db.events("payment_received")[-1]["payload"]["method"] == "paypal"


def test_issuing_then_paying_a_bill_announces_each_accounts_facts_with_a_rising_version(
        billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    [invoice] = invoices(billing_db)

    issued = {e["payload"]["account_id"]: e for e in billing_db.events("account_billing_changed")}
    assert set(issued) == {str(ids["alpine"]), str(ids["birch"]), str(ids["dune"])}  # not the trial
    alpine = issued[str(ids["alpine"])]
    assert alpine["tenant_id"] == str(tree.distributor)
    assert {k: alpine["payload"][k] for k in ("version", "bills", "amount_due", "currency", "overdue_from")} == {
        "version": 1, "bills": 1, "amount_due": "45.00", "currency": "USD", "overdue_from": "2027-01-01"}

    payments.record_payment(billing_db.unit_of_work(), uuid.uuid4(), RecordPaymentRequest(
        reference=invoice.reference, method=PaymentMethod.PAYPAL, amount=invoice.total, currency="USD"), BOOK)

    paid = [e["payload"] for e in billing_db.events("account_billing_changed")
            if e["payload"]["account_id"] == str(ids["alpine"])][-1]
    assert {k: paid[k] for k in ("version", "bills", "amount_due", "overdue_from")} == {
        "version": 2, "bills": 1, "amount_due": "0.00", "overdue_from": None}


def test_announcing_every_accounts_facts_again_raises_each_version_and_repeats_the_facts(billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    first = {e["payload"]["account_id"]: e["payload"] for e in billing_db.events("account_billing_changed")}

    reply = billing_facts.announce_billing_facts(billing_db.unit_of_work(), BillingFactsRequest())
    other = billing_facts.announce_billing_facts(billing_db.unit_of_work(),
                                                 BillingFactsRequest(distributor_id=uuid.uuid4()))

    again = {e["payload"]["account_id"]: e["payload"] for e in billing_db.events("account_billing_changed")}
    assert (reply.accounts, other.accounts) == (3, 0)
    assert again[str(ids["alpine"])] == {**first[str(ids["alpine"])], "version": 2}
    assert set(again) == set(first)


def test_an_owner_is_on_track_once_nothing_is_owed_and_a_limited_user_sees_its_own_accounts_owe(
        billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    limited = billing_scope(tree.caller(accessible_accounts=[ids["alpine"]]))

    seen = queries.rollups(billing_db.unit_of_work(), limited, RollupQuery(), date(2026, 12, 10))
    assert {(r.direct, r.amount_owed, r.billing_status) for r in seen.items} == {
        (False, Decimal("45.00"), RollupStatus.WITH_EXCEPTIONS), (True, Decimal("0.00"), RollupStatus.ON_TRACK)}

    [invoice] = invoices(billing_db)
    payments.record_payment(billing_db.unit_of_work(), uuid.uuid4(), RecordPaymentRequest(
        reference=invoice.reference, method=PaymentMethod.PAYPAL, amount=invoice.total, currency="USD"), BOOK)

    paid = queries.rollups(billing_db.unit_of_work(), tree.scope(), RollupQuery(), date(2027, 1, 1))
    assert {(r.amount_owed, r.billing_status, r.label) for r in paid.items} == {
        (Decimal("0.00"), RollupStatus.ON_TRACK, "All bills on track")}
    nobody = queries.billing_filter(billing_db.unit_of_work(), tree.scope(), BillingFilterRequest(
        level="owners", owner_status=RollupStatus.WITH_EXCEPTIONS), date(2027, 1, 1))
    assert (nobody.ids, nobody.includes_direct) == ([], False)


def test_the_status_row_carries_renewal_and_forecast(billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    row = status_of(billing_db, tree, ids["alpine"], date(2026, 12, 5))

    assert row.renewal_date == date(2027, 1, 1)
    assert row.next_payment_forecast == Decimal("45.00")  # flat 20 seats, 2.25 blended, a whole month


def test_roll_ups_and_filters_put_owners_that_owe_money_with_exceptions(billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    scope = tree.scope()

    due = queries.rollups(billing_db.unit_of_work(), scope, RollupQuery(), date(2026, 12, 10))
    late = queries.rollups(billing_db.unit_of_work(), scope, RollupQuery(), date(2027, 1, 1))

    # Due, not overdue yet, is money owed: "With exceptions" already (the guide's meaning).
    by_owner = {(r.owner_id, r.direct): (r.amount_owed, r.billing_status, r.label) for r in due.items}
    assert by_owner == {(tree.partner, False): (Decimal("53.75"), RollupStatus.WITH_EXCEPTIONS, "With exceptions"),
                        (tree.distributor, True): (Decimal("0.68"), RollupStatus.WITH_EXCEPTIONS, "With exceptions")}
    assert {r.label for r in late.items} == {"With exceptions"}
    due_filter = queries.billing_filter(billing_db.unit_of_work(), scope, BillingFilterRequest(
        level="owners", owner_status=RollupStatus.WITH_EXCEPTIONS), date(2026, 12, 10))
    assert (due_filter.ids, due_filter.includes_direct) == ([tree.partner], True)
    direct_only = queries.rollups(billing_db.unit_of_work(), scope, RollupQuery(owner_ids=[tree.distributor]),
                                  date(2026, 12, 10))  # a page's owners: the Direct Accounts row alone
    assert [(r.owner_id, r.direct, r.amount_owed) for r in direct_only.items] == [
        (tree.distributor, True, Decimal("0.68"))]
    owners = queries.billing_filter(billing_db.unit_of_work(), scope, BillingFilterRequest(
        level="owners", owner_status=RollupStatus.WITH_EXCEPTIONS, as_of=date(2027, 1, 1)), date(2027, 1, 1))
    assert (owners.ids, owners.includes_direct) == ([tree.partner], True)
    overdue = queries.billing_filter(billing_db.unit_of_work(), scope, BillingFilterRequest(
        level="accounts", owner_id=tree.partner, account_status=BillingStatus.OVERDUE), date(2027, 1, 1))
    assert set(overdue.ids) == {ids["alpine"], ids["birch"]}


def test_bank_transfer_is_refused_for_a_small_invoice_and_amounts_must_match(billing_db, tree, processor):
    november_of_a_small_distributor(tree)
    run(billing_db, processor)
    [invoice] = invoices(billing_db)

    with pytest.raises(ValidationFailed) as refused:
        payments.record_payment(billing_db.unit_of_work(), None, RecordPaymentRequest(
            reference=invoice.reference, method=PaymentMethod.BANK_TRANSFER, amount=invoice.total, currency="USD"),
            BOOK)
    assert refused.value.details["fields"][0]["field"] == "method"
    with pytest.raises(ValidationFailed):
        payments.record_payment(billing_db.unit_of_work(), None, RecordPaymentRequest(
            reference=invoice.reference, method=PaymentMethod.PAYPAL, amount=Decimal("1.00"), currency="USD"), BOOK)


def test_a_bank_transfer_pays_an_invoice_over_a_thousand_dollars(billing_db, tree, processor):
    tree.account("Large Co", Plan.ANNUAL, date(2026, 11, 20), {BackupService.EXCHANGE: 40}, [date(2026, 11, 20)])
    run(billing_db, processor, as_of=date(2026, 11, 20))
    [invoice] = invoices(billing_db)  # 40 x 27.00 = 1,080.00

    view = payments.record_payment(billing_db.unit_of_work(), None, RecordPaymentRequest(
        reference=invoice.reference, method=PaymentMethod.BANK_TRANSFER, amount=Decimal("1080.00"), currency="USD",
        external_reference="BANK-REF 2026/118"), BOOK)

    assert view.status.value == "succeeded"
    assert invoices(billing_db)[0].paid_by == "bank_transfer"


# ---- the credit-card method ---------------------------------------------------------------------------


def card_method(db: MigratedDatabase, payer: Tree, token: str, processor: LocalTestProcessor) -> None:
    """The distributor's first visit: the credit-card method, and a card."""
    payer.choose(BillingMethod.CREDIT_CARD)
    profiles.add_card(db.unit_of_work(), payer.scope(), CardAddRequest(token=token), processor)


def test_the_card_method_charges_the_consolidated_bill_once(billing_db, undecided, processor):
    november_of_a_small_distributor(undecided)
    card_method(billing_db, undecided, "tok_visa", processor)

    reply = run(billing_db, processor)
    run(billing_db, processor, as_of=date(2026, 12, 2))

    assert (reply.charges_succeeded, reply.charges_failed) == (1, 0)
    [invoice] = invoices(billing_db)
    assert (invoice.method, invoice.due_date, invoice.paid_by) == ("credit_card", date(2026, 12, 1), "card")
    assert processor.charges() == 1
    received = billing_db.events("payment_received")[-1]["payload"]
    assert (received["amount"], received["method"]) == ("54.43", "card")


@pytest.mark.parametrize(("token", "code"), [("tok_chargeDeclined", "card_declined"),
                                             ("tok_insufficientFunds", "insufficient_funds")])
def test_a_failed_charge_is_recorded_as_failed_and_not_retried(billing_db, undecided, processor, token, code):
    ids = november_of_a_small_distributor(undecided)
    card_method(billing_db, undecided, token, processor)

    reply = run(billing_db, processor)
    run(billing_db, processor, as_of=date(2026, 12, 4))

    assert (reply.charges_succeeded, reply.charges_failed) == (0, 1)
    assert processor.charges() == 1
    assert billing_db.events("payment_failed")[-1]["payload"]["failure_code"] == code
    [invoice] = invoices(billing_db)
    assert invoice.paid_at is None and invoice.charge_failed
    rollup = queries.rollups(billing_db.unit_of_work(), undecided.scope(), RollupQuery(owner_ids=[undecided.partner]),
                             date(2026, 12, 1))
    assert rollup.items[0].billing_status is RollupStatus.WITH_EXCEPTIONS
    assert status_of(billing_db, undecided, ids["alpine"], date(2026, 12, 1)).billing_status is BillingStatus.DUE


def test_the_distributor_pays_a_failed_bill_with_another_card(billing_db, undecided, processor):
    november_of_a_small_distributor(undecided)
    card_method(billing_db, undecided, "tok_chargeDeclined", processor)
    run(billing_db, processor)
    good = profiles.add_card(billing_db.unit_of_work(), undecided.scope(), CardAddRequest(token="tok_mastercard"),
                             processor)
    [invoice] = invoices(billing_db)

    view = payments.pay_invoice(billing_db.unit_of_work(), undecided.scope(), invoice.reference, good.id, processor)

    assert view.status.value == "succeeded"
    with pytest.raises(Conflict):
        payments.pay_invoice(billing_db.unit_of_work(), undecided.scope(), invoice.reference, good.id, processor)
    uow = billing_db.unit_of_work()
    keys = set(uow.session.execute(sa.select(Payment.idempotency_key)).scalars())
    assert keys == {f"auto:{invoice.id}", f"pay:{invoice.id}:2"}


def test_an_interrupted_charge_is_completed_with_its_own_key_not_charged_again(billing_db, undecided, processor):
    november_of_a_small_distributor(undecided)
    card_method(billing_db, undecided, "tok_visa", processor)

    class Crashing:
        name = "local_test"

        def charge(self, *args: Any) -> Any:
            processor.charge(*args)  # the processor charged ...
            raise ConnectionError("... and the answer was lost")

    run(billing_db, Crashing())  # type: ignore[arg-type]
    [invoice] = invoices(billing_db)
    assert invoice.paid_at is None
    later = datetime.now(UTC) + payments.PENDING_GRACE * 2
    assert payments.settle_pending(billing_db.unit_of_work(), processor, now=later) == 1

    assert invoices(billing_db)[0].paid_at is not None
    assert processor.charges() == 1


# ---- history and documents ------------------------------------------------------------------------------


def test_history_lists_consolidated_and_annual_bills_newest_first(billing_db, tree, processor):
    november_of_a_small_distributor(tree)
    run(billing_db, processor)
    tree.account("Laurel", Plan.ANNUAL, date(2026, 12, 3), {BackupService.GMAIL: 2}, [date(2026, 12, 3)])
    run(billing_db, processor, as_of=date(2026, 12, 3))

    page = queries.history(billing_db.unit_of_work(), tree.scope(), HistoryQuery())

    assert [(r.reference, r.account_name, r.consolidated, r.amount) for r in page.items] == [
        ("INV-2026-000002", "Laurel", False, Decimal("54.00")),  # 2 x (2.50 x 12 x 0.9)
        ("INV-2026-000001", "Consolidated bill", True, Decimal("54.43")),
    ]
    assert page.total == 2


def test_a_user_limited_to_some_accounts_sees_the_annual_bills_of_those_and_no_consolidated_bill(
        billing_db, tree, processor):
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    laurel = tree.account("Laurel", Plan.ANNUAL, date(2026, 12, 3), {BackupService.GMAIL: 2}, [date(2026, 12, 3)])
    tree.account("Oak", Plan.ANNUAL, date(2026, 12, 3), {BackupService.GMAIL: 1}, [date(2026, 12, 3)])
    run(billing_db, processor, as_of=date(2026, 12, 3))
    profiles.add_card(billing_db.unit_of_work(), tree.scope(), CardAddRequest(token="tok_visa"), processor)
    # Alpine is on the consolidated bill: seeing Alpine is not seeing the other accounts on it.
    limited = billing_scope(tree.caller(accessible_accounts=[laurel, ids["alpine"]]))
    bills = {r.account_name: r.reference for r in queries.history(billing_db.unit_of_work(), tree.scope(),
                                                                 HistoryQuery()).items}

    page = queries.history(billing_db.unit_of_work(), limited, HistoryQuery())

    assert [(r.reference, r.account_id) for r in page.items] == [(bills["Laurel"], laurel)] and page.total == 1
    assert queries.bill_document(billing_db.unit_of_work(), limited, bills["Laurel"]).lines[0].account_id == laurel
    for name in ("Oak", "Consolidated bill"):
        with pytest.raises(NotFound):
            queries.bill_document(billing_db.unit_of_work(), limited, bills[name])
        with pytest.raises(NotFound):
            payments.pay_invoice(billing_db.unit_of_work(), limited, bills[name], None, processor)
    assert processor.charges() == 0
    paid = payments.pay_invoice(billing_db.unit_of_work(), limited, bills["Laurel"], None, processor)
    assert paid.status.value == "succeeded"


def test_another_distributor_sees_none_of_it(billing_db, tree, processor):
    november_of_a_small_distributor(tree)
    run(billing_db, processor)
    other = billing_scope(CallContext("billing", Caller(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(),
                                                        tenant_kind="distributor", role="administrator"), "t"))

    assert queries.history(billing_db.unit_of_work(), other, HistoryQuery()).items == []
    assert queries.account_status_page(billing_db.unit_of_work(), other, StatusQuery(), BOOK, TODAY).items == []
    with pytest.raises(Exception, match="not found"):
        queries.bill_document(billing_db.unit_of_work(), other, "INV-2026-000001")
