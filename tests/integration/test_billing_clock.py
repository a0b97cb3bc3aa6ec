"""The billing clock's own timer entrypoint, on the real broker and PostgreSQL, ticking fast
(``BILLING_CLOCK_SECONDS``) on the real date: it bills nothing to a distributor that has not
chosen its billing method, bills the month that ended once it has, and never twice, across
ticks and a restart of the service. (The day logic itself, on a controllable clock:
tests/usecases/test_billing_runs.py, ``clock_tick``.)"""
# ruff: noqa: F811  (the fixtures of test_billing_service are imported, then requested by name)

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from contracts.tenancy import BackupService, DefaultSubscription, Plan
from services.billing.adapters.models import Invoice, Profile
from services.billing.domain.periods import Period, month_ended_before
from services.billing.entrypoints import BillingService
from tests.integration.test_billing_service import (  # noqa: F401  (fixtures)
    admin_of,
    billing_db,
    billing_url,
    call_as,
    projected,
)
from tests.support import billing_simulation as simulate
from tests.support.fixtures import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.calendar]

TICK = 0.3  # seconds between the clock's ticks here (an hour in production)
SEATS = 5  # Exchange seats all month: 5 x 2.50 = 12.50


def a_month_of_usage(amqp_uri: str) -> tuple[uuid.UUID, uuid.UUID, Period]:
    """A direct monthly account of a new distributor, protecting seats all through the month that
    ended before today (UTC), published on tenancy.events as tenancy would."""
    period = month_ended_before(datetime.now(UTC).date())
    distributor, account, task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    subscribed = datetime.combine(period.start - timedelta(days=10), datetime.min.time(), UTC)
    simulate.publish(amqp_uri, [
        simulate.tenant_created(distributor, OPERATOR_TENANT_ID, "distributor", "Northwind"),
        simulate.account_created(account, distributor, "distributor", "Alpine Dental",
                                 DefaultSubscription.SUBSCRIBE_MONTHLY, at=subscribed),
        simulate.account_subscribed(account, distributor, Plan.MONTHLY, subscribed),
        simulate.task_added(task, account, BackupService.EXCHANGE),
        simulate.run_recorded(task, account, distributor, subscribed + timedelta(days=10, hours=3), SEATS),
    ])
    return distributor, account, period


def bills_of(engine: sa.Engine, distributor: uuid.UUID) -> list[tuple[str, object, Decimal]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            sa.select(Invoice.period_key, Invoice.period_start, Invoice.total)
            .where(Invoice.distributor_id == distributor))]


def considered(engine: sa.Engine, distributor: uuid.UUID) -> bool:
    """A tick has looked at the distributor: billing read (and so made) its profile."""
    with engine.connect() as connection:
        return connection.execute(sa.select(Profile.distributor_id)
                                  .where(Profile.distributor_id == distributor)).first() is not None


def test_the_clock_bills_the_ended_month_once_the_method_is_chosen_and_never_twice(
    start_services, call_as, amqp_uri, billing_url, billing_db
):
    env = {"BILLING_DATABASE_URL": billing_url, "BILLING_CLOCK_SECONDS": str(TICK)}
    runner = start_services(BillingService, env=env)
    distributor, account, period = a_month_of_usage(amqp_uri)
    wait_for(lambda: projected(billing_db, {account: SEATS}), timeout=20, message="billing to project the month")

    wait_for(lambda: considered(billing_db, distributor), timeout=20, message="a tick that looks at the distributor")
    time.sleep(3 * TICK)  # more ticks: still nothing, the method is not chosen
    assert bills_of(billing_db, distributor) == []

    call_as(admin_of(distributor)).set_billing_method({"method": "invoice"})
    billed = wait_for(lambda: bills_of(billing_db, distributor), timeout=20, message="the tick that bills the month")
    assert billed == [(f"consolidated:{distributor}:{period.start.isoformat()}", period.start, Decimal("12.50"))]

    time.sleep(5 * TICK)  # more ticks
    runner.stop()
    start_services(BillingService, env=env)  # a restart: a new container, the same database and processor
    time.sleep(5 * TICK)  # and its ticks
    assert bills_of(billing_db, distributor) == billed
