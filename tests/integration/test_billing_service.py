"""Billing against the real broker and PostgreSQL: tenancy's events in, invoices out,
idempotent and concurrent runs, and the service's own refusal of partner and customer users."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from contracts.context import CALLER_KEY, OPERATOR_TENANT_ID, Caller
from contracts.errors import PermissionDenied
from contracts.tenancy import BackupRunReport, BackupService, DefaultSubscription, Plan, RemoveAccountRequest
from servicekit.outbox import declare_events_exchange
from servicekit.settings import normalise_database_url
from services.billing.adapters.models import Account, Invoice, InvoiceLineRow, ReferenceCounter
from services.billing.entrypoints import BillingService
from services.identity.entrypoints import IdentityService
from services.tenancy.entrypoints import TenancyService
from services.tenancy.usecases import accounts as tenancy_accounts
from tests.support import billing_simulation as simulate
from tests.support.fixtures import MigratedDatabase, wait_for
from tests.usecases.tenancy_world import build_world

pytestmark = pytest.mark.integration

OPERATOR = Caller(user_id=uuid.uuid4(), tenant_id=OPERATOR_TENANT_ID, tenant_kind="operator", role="administrator")
TENANCY_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "tenancy" / "adapters" / "migrations"
OCTOBER_END = date(2026, 11, 1)  # a run as of 1 November bills October 2026 (31 days)


def admin_of(tenant: uuid.UUID, kind: str = "distributor") -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant, tenant_kind=kind, role="administrator")


@pytest.fixture
def call_as(nameko_config: dict[str, Any]) -> Iterator[Callable[[Caller, str], Any]]:
    """``call_as(caller, "billing")``: an RPC proxy whose calls carry that caller, as the gateway's do."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with contextlib.ExitStack() as stack:

        def proxy(caller: Caller, service: str = "billing") -> Any:
            context = {CALLER_KEY: caller.to_wire()}
            cluster = stack.enter_context(ClusterRpcProxy(nameko_config, context_data=context, timeout=60))
            return getattr(cluster, service)

        yield proxy


@pytest.fixture
def billing_url(database_url: Callable[[str], str]) -> str:
    return database_url("billing")


@pytest.fixture
def billing_db(billing_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(normalise_database_url(billing_url))
    yield engine
    engine.dispose()


@pytest.fixture
def billing_events(amqp_uri: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Everything billing announces, as an outside subscriber sees it."""
    connection = Connection(amqp_uri)
    queue = Queue(f"tap-billing-{uuid.uuid4().hex[:6]}", exchange=declare_events_exchange("billing"), routing_key="#",
                  exclusive=True)
    queue(connection.default_channel).declare()
    received: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        bound = queue(connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            received.append(message.payload)
        return received

    yield drain
    connection.release()


def invoices(engine: sa.Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(Invoice).order_by(Invoice.reference)))


def october_of_a_distributor(amqp_uri: str) -> tuple[uuid.UUID, dict[uuid.UUID, int]]:
    """Published on tenancy.events as tenancy would: two partner accounts and one direct, all October."""
    distributor, partner = uuid.uuid4(), uuid.uuid4()
    events = [simulate.tenant_created(distributor, OPERATOR_TENANT_ID, "distributor", "Northwind"),
              simulate.tenant_created(partner, distributor, "partner", "Contoso IT")]
    accounts: dict[uuid.UUID, int] = {}
    plan = [("Alpine Dental", partner, {BackupService.EXCHANGE: 10, BackupService.ONEDRIVE: 10}),  # 45.00
            ("Birch Legal", partner, {BackupService.TEAMS: 4}),  # 6.00
            ("Dune Studio", distributor, {BackupService.SALESFORCE: 3})]  # 12.00
    for name, owner, seats in plan:
        account = uuid.uuid4()
        accounts[account] = sum(seats.values())
        kind = "distributor" if owner == distributor else "partner"
        events += [simulate.account_created(account, owner, kind, name, DefaultSubscription.SUBSCRIBE_MONTHLY),
                   simulate.account_subscribed(account, owner, Plan.MONTHLY, datetime(2026, 9, 20, tzinfo=UTC))]
        for service, count in seats.items():
            task = uuid.uuid4()
            events += [simulate.task_added(task, account, service),
                       simulate.run_recorded(task, account, owner, datetime(2026, 10, 2, 3, tzinfo=UTC), count)]
    simulate.publish(amqp_uri, events)
    return distributor, accounts


def projected(engine: sa.Engine, seats: dict[uuid.UUID, int]) -> bool:
    """Every account known with its distributor, plan and all its seats."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Account.id, Account.distributor_id, Account.plan, Account.seats)
                                  .where(Account.id.in_(list(seats)))).all()
    return len(rows) == len(seats) and all(r.distributor_id and r.plan and r.seats == seats[r.id] for r in rows)


def test_a_month_published_on_tenancy_events_comes_out_as_one_consolidated_invoice(
    start_services, call_as, amqp_uri, billing_url, billing_db, billing_events
):
    start_services(BillingService, env={"BILLING_DATABASE_URL": billing_url})
    distributor, accounts = october_of_a_distributor(amqp_uri)
    wait_for(lambda: projected(billing_db, accounts), timeout=20, message="billing to project the accounts")
    call_as(admin_of(distributor)).set_billing_method({"method": "invoice"})

    reply = call_as(OPERATOR).run_billing({"as_of": OCTOBER_END.isoformat()})

    assert (reply["consolidated_invoices"], reply["accounts_billed"]) == (1, 3)
    [invoice] = invoices(billing_db)
    assert (invoice.total, invoice.distributor_id, invoice.due_date) == (Decimal("63.00"), distributor,
                                                                         date(2026, 12, 1))
    issued = wait_for(lambda: [e for e in billing_events() if e["type"] == "invoice_issued"], message="the event")
    assert issued[0]["payload"]["reference"] == invoice.reference and issued[0]["payload"]["amount"] == "63.00"
    history = call_as(admin_of(distributor)).billing_history({})
    assert history["items"][0]["account_name"] == "Consolidated bill"


def test_concurrent_runs_of_two_instances_bill_the_period_once_without_a_gap(
    start_services, call_as, amqp_uri, billing_url, billing_db
):
    for _ in range(2):  # two instances: competing consumers of the same queues, one database
        start_services(BillingService, env={"BILLING_DATABASE_URL": billing_url})
    distributor, accounts = october_of_a_distributor(amqp_uri)
    annual = {uuid.uuid4(): 2 for _ in range(5)}  # five annual accounts: five invoices, written in a batch
    events = []
    for account in annual:
        task = uuid.uuid4()
        events += [simulate.account_created(account, distributor, "distributor", f"Annual {account.hex[:6]}",
                                            DefaultSubscription.SUBSCRIBE_ANNUAL),
                   simulate.account_subscribed(account, distributor, Plan.ANNUAL, datetime(2026, 10, 5, tzinfo=UTC)),
                   simulate.run_recorded(task, account, distributor, datetime(2026, 10, 6, tzinfo=UTC), 2)]
    simulate.publish(amqp_uri, events)
    wait_for(lambda: projected(billing_db, accounts | annual), timeout=20, message="billing to project the accounts")
    call_as(admin_of(distributor)).set_billing_method({"method": "invoice"})
    operators = [call_as(OPERATOR) for _ in range(4)]  # a proxy is not shared between green threads

    pile = eventlet.GreenPile()
    for operator in operators:
        pile.spawn(operator.run_billing, {"as_of": OCTOBER_END.isoformat()})
    replies = list(pile)

    assert sum(r["consolidated_invoices"] for r in replies) == 1
    assert sum(r["annual_invoices"] for r in replies) == 5
    assert [i.reference for i in invoices(billing_db)] == [f"INV-2026-{n:06d}" for n in range(1, 7)]
    with billing_db.connect() as connection:
        assert connection.execute(sa.select(ReferenceCounter.last_value)).scalar_one() == 6
    again = operators[0].run_billing({"as_of": "2026-11-20"})
    assert (again["consolidated_invoices"], again["annual_invoices"], again["already_billed"]) == (0, 0, 6)


@pytest.mark.calendar
def test_real_tenancy_events_make_an_annual_invoice(start_services, call_as, billing_url, billing_db, database_url):
    start_services(TenancyService, BillingService, IdentityService,  # identity: ADR 0012's email check
                   env={"BILLING_DATABASE_URL": billing_url, "TENANCY_DATABASE_URL": database_url("tenancy")})
    tenancy = call_as(OPERATOR, "tenancy")
    distributor = tenancy.create_distributor({"name": "Fabrikam", "email": f"d-{uuid.uuid4().hex[:6]}@fabrikam.example",
                                              "country": "US", "data_center": "us-east-1"})
    admin = call_as(admin_of(uuid.UUID(distributor["id"])), "tenancy")
    partner = admin.create_partner({"name": "Tailspin", "email": f"p-{uuid.uuid4().hex[:6]}@tailspin.example",
                                    "country": "US", "data_center": "us-east-1"})
    account = admin.create_account({"name": "Wingtip", "email": "it@wingtip.example", "partner_id": partner["id"],
                                    "subscription": "subscribe_annual"})
    task = admin.add_backup_task(account["id"], {"service": "exchange", "name": "Mailboxes"})
    admin.activate_backup_task(account["id"], task["id"])
    now = datetime.now(UTC)
    engine = call_as(Caller(engine_key_id=uuid.uuid4()), "tenancy")
    engine.ingest_backup_runs([{"run_id": str(uuid.uuid4()), "task_id": task["id"], "status": "success",
                                "started_at": now.isoformat(), "finished_at": now.isoformat(), "size_bytes": 10,
                                "seats": 12}])
    wait_for(lambda: projected(billing_db, {uuid.UUID(account["id"]): 12}), timeout=20,
             message="billing to learn of the account and its seats")
    call_as(admin_of(uuid.UUID(distributor["id"]))).set_billing_method({"method": "invoice"})

    reply = call_as(OPERATOR).run_billing({"as_of": now.date().isoformat()})

    assert reply["annual_invoices"] == 1
    [invoice] = invoices(billing_db)
    assert (invoice.kind, invoice.total, str(invoice.account_id)) == ("annual", Decimal("324.00"), account["id"])
    assert str(invoice.distributor_id) == distributor["id"]
    status = call_as(admin_of(uuid.UUID(distributor["id"]))).billing_status({"partner_id": partner["id"]})
    assert [(r["billing_status"], r["amount_due"]) for r in status["items"]] == [("due", "324.00")]


@pytest.mark.parametrize("kind", ["partner", "account"])
def test_partner_and_customer_users_are_refused_by_billing_itself(start_services, call_as, billing_url, kind):
    start_services(BillingService, env={"BILLING_DATABASE_URL": billing_url})
    billing = call_as(admin_of(uuid.uuid4(), kind))

    for method, args in [("billing_history", ({},)), ("billing_status", ({},)), ("get_billing_method", ()),
                         ("get_billing_details", ()), ("list_cards", ()), ("add_card", ({"token": "tok_visa"},)),
                         ("invoice_document", ({"reference": "INV-2026-000001", "format": "pdf"},))]:
        with pytest.raises(PermissionDenied):
            getattr(billing, method)(*args)
    with pytest.raises(PermissionDenied):
        billing.run_billing({"as_of": "2026-11-01"})


@pytest.mark.calendar
def test_an_account_removed_through_tenancy_is_billed_only_up_to_its_removal(start_services, call_as, billing_url,
                                                                            billing_db, database_url):
    """Tenancy's own use cases on its database (a past month needs a clock the RPCs do not take),
    then its relay, the broker and billing's projection and run, as in production."""

    tenancy_url = database_url("tenancy")
    this_month = datetime.now(UTC).date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    month_start = datetime.combine(last_month, time(9), tzinfo=UTC)
    removal = month_start + timedelta(days=9)  # the 10th
    tenancy = MigratedDatabase("tenancy", TENANCY_MIGRATIONS, normalise_database_url(tenancy_url))
    try:
        world = build_world(tenancy)
        leaving = world.add_account("Leaving", subscription="subscribe_monthly", at=month_start)
        staying = world.add_account("Staying", subscription="subscribe_monthly", at=month_start)
        for account in (leaving, staying):
            world.ingest(BackupRunReport(run_id=uuid.uuid4(), task_id=world.add_task(account), status="success",
                                         started_at=month_start + timedelta(days=1),
                                         finished_at=month_start + timedelta(days=1, minutes=30),
                                         size_bytes=1000, seats=10))
        uow = world.uow()
        tenancy_accounts.remove_account(uow, uow.context, leaving.id, RemoveAccountRequest(approve_data_removal=True),
                                        now=removal)
        distributor = world.distributor.id
    finally:
        tenancy.dispose()
    start_services(BillingService, env={"BILLING_DATABASE_URL": billing_url})  # its queues first
    start_services(TenancyService, env={"TENANCY_DATABASE_URL": tenancy_url})  # then the relay sends the outbox

    def removal_projected() -> bool:
        with billing_db.connect() as connection:
            row = connection.execute(sa.select(Account.removed_on, Account.seats).where(Account.id == leaving.id)).first()
            kept = connection.execute(sa.select(Account.seats).where(Account.id == staying.id)).scalar()
        return row is not None and row.removed_on == removal.date() and kept == 10

    wait_for(removal_projected, timeout=30, message="billing to learn of the removal")
    call_as(admin_of(distributor)).set_billing_method({"method": "invoice"})

    reply = call_as(OPERATOR).run_billing({"as_of": this_month.isoformat(), "distributor_id": str(distributor)})

    assert (reply["consolidated_invoices"], reply["accounts_billed"]) == (1, 2)
    [invoice] = invoices(billing_db)
    with billing_db.connect() as connection:
        lines = {row.account_id: row for row in connection.execute(
            sa.select(InvoiceLineRow).where(InvoiceLineRow.invoice_id == invoice.id))}
    period_days = (this_month - last_month).days
    assert (lines[staying.id].days, lines[staying.id].period_days) == (period_days, period_days)
    assert (lines[leaving.id].days, lines[leaving.id].seats) == (10, 10)  # the 1st to the 10th, the removal day
    full = lines[staying.id].amount
    assert lines[leaving.id].amount == (full * 10 / period_days).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert invoice.total == full + lines[leaving.id].amount
