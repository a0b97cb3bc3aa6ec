"""Notify on the embedded default (SQLite files, as under ``make run``) while a billing run
issues several invoices at once: billing and notify in-process on a real RabbitMQ vhost.

Each ``invoice_issued`` makes notify ask billing for the distributor's details and the
invoice's PDF. No write transaction may stay open across those calls, and a wait for
SQLite's lock may never stop the eventlet hub: meanwhile every other request to notify
still answers at once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import eventlet
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.context import CALLER_KEY, OPERATOR_TENANT_ID, Caller
from contracts.tenancy import BackupService, DefaultSubscription, Plan
from services.billing.adapters.models import Account
from services.billing.entrypoints import BillingService
from services.notify.adapters.models import MailStatus, OutgoingMail
from services.notify.entrypoints import NotifyService
from tests.support import billing_simulation as simulate
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration

OPERATOR = Caller(user_id=uuid.uuid4(), tenant_id=OPERATOR_TENANT_ID, tenant_kind="operator", role="administrator")
DISTRIBUTORS = 5
OCTOBER_END = date(2026, 11, 1)  # a run as of 1 November bills October 2026
PROMPT_SECONDS = 2.0


def admin_of(tenant: uuid.UUID) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant, tenant_kind="distributor", role="administrator",
                  email="admin@distributor.example")


def details(n: int) -> dict[str, Any]:
    return {"first_name": "Dana", "last_name": f"Reyes {n}", "billing_email": f"ap{n}@distributor.example",
            "company": f"Distributor {n}", "company_tax_id": "GB123456789", "address_line1": "1 Harbour St",
            "city": "Leeds", "zip": "LS1 4AP", "country": "GB", "phone": "+44 113 496 0000",
            "invoice_delivery": "attachment"}


@pytest.fixture
def call_as(nameko_config: dict[str, Any]) -> Iterator[Callable[[Caller, str], Any]]:
    with contextlib.ExitStack() as stack:

        def proxy(caller: Caller, service: str) -> Any:
            context = {CALLER_KEY: caller.to_wire()}
            cluster = stack.enter_context(ClusterRpcProxy(nameko_config, context_data=context, timeout=60))
            return getattr(cluster, service)

        yield proxy


def distributors_with_an_october(amqp_uri: str) -> list[uuid.UUID]:
    """Distributors with one direct account each, subscribed and backed up in October 2026."""
    distributors, events = [], []
    for n in range(DISTRIBUTORS):
        distributor, account, task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        distributors.append(distributor)
        events += [simulate.tenant_created(distributor, OPERATOR_TENANT_ID, "distributor", f"Distributor {n}"),
                   simulate.account_created(account, distributor, "distributor", f"Account {n}",
                                            DefaultSubscription.SUBSCRIBE_MONTHLY),
                   simulate.account_subscribed(account, distributor, Plan.MONTHLY, datetime(2026, 9, 20, tzinfo=UTC)),
                   simulate.task_added(task, account, BackupService.EXCHANGE),
                   simulate.run_recorded(task, account, distributor, datetime(2026, 10, 2, 3, tzinfo=UTC), 5)]
    simulate.publish(amqp_uri, events)
    return distributors


def projected(engine: sa.Engine, distributors: list[uuid.UUID]) -> bool:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Account.distributor_id, Account.seats)
                                  .where(Account.distributor_id.in_(distributors))).all()
    return len(rows) == len(distributors) and all(r.seats == 5 for r in rows)


def sent_invoice_mails(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(
            sa.select(sa.func.count()).select_from(OutgoingMail).where(OutgoingMail.idempotency_key.like("invoice:%"),
                                                                       OutgoingMail.status == MailStatus.SENT)
        ).scalar_one())


class Poller:
    """Asks notify for a tenant's notification settings again and again, timing each answer."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.answers: list[tuple[float, str | None]] = []
        self._running = True
        self._thread = eventlet.spawn(self._run)

    def _run(self) -> None:
        while self._running:
            started = time.monotonic()
            try:
                self.proxy.get_notification_settings()
                error = None
            except Exception as exc:  # a failed poll is a finding, not the end of the test
                error = type(exc).__name__
            self.answers.append((time.monotonic() - started, error))
            eventlet.sleep(0.05)

    def stop(self) -> list[tuple[float, str | None]]:
        self._running = False
        self._thread.wait()
        return self.answers


def test_notify_answers_promptly_while_a_billing_run_mails_several_invoices_on_sqlite(
    start_services, call_as, amqp_uri, tmp_path: Path
):
    billing_url, notify_url = f"sqlite:///{tmp_path}/billing.db", f"sqlite:///{tmp_path}/notify.db"
    start_services(BillingService, NotifyService, env={
        "BILLING_DATABASE_URL": billing_url, "NOTIFY_DATABASE_URL": notify_url,
        "PORTAL_PUBLIC_BASE_URL": "https://portal.test", "NOTIFY_SCHEDULE_SECONDS": "3600",
    })
    billing_db, notify_db = sa.create_engine(billing_url), sa.create_engine(notify_url)
    distributors = distributors_with_an_october(amqp_uri)
    wait_for(lambda: projected(billing_db, distributors), timeout=30, message="billing to project the accounts")
    for n, distributor in enumerate(distributors):
        billing = call_as(admin_of(distributor), "billing")
        billing.set_billing_method({"method": "invoice"})
        billing.set_billing_details(details(n))
    poller = Poller(call_as(admin_of(distributors[0]), "notify"))

    reply = call_as(OPERATOR, "billing").run_billing({"as_of": OCTOBER_END.isoformat()})
    deadline = time.monotonic() + 60
    while sent_invoice_mails(notify_db) < DISTRIBUTORS and time.monotonic() < deadline:
        eventlet.sleep(0.2)
    answers = poller.stop()

    assert reply["consolidated_invoices"] == DISTRIBUTORS
    slow = [(round(seconds, 2), error) for seconds, error in answers if seconds > PROMPT_SECONDS or error]
    assert len(answers) >= 3 and not slow, f"{len(slow)} of {len(answers)} polls slow or failed: {slow[:5]}"
    assert sent_invoice_mails(notify_db) == DISTRIBUTORS
    billing_db.dispose()
    notify_db.dispose()
