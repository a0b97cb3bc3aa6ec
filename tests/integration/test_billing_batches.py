"""Billing projects tenancy's run batches concurrently on PostgreSQL without deadlocks."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import eventlet
import pytest
import sqlalchemy as sa

from servicekit.context import SYSTEM_CALLER, CallContext
from servicekit.db import UnitOfWork
from servicekit.idempotency import claim
from services.billing.adapters.models import Account, UsageSnapshot
from services.billing.usecases import projection
from tests.support import billing_simulation as simulate
from tests.support.fixtures import MigratedDatabase

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "billing" / "adapters" / "migrations"
OPERATOR = uuid.UUID("00000000-0000-4000-8000-000000000001")


def project(db: MigratedDatabase, envelope: Any) -> None:
    """What billing's idempotent handler does, in a unit of work of its own (workers run at once)."""
    uow = UnitOfWork(db.session_factory, "billing", CallContext("billing", SYSTEM_CALLER, str(uuid.uuid4())))
    try:
        if claim(uow.session, envelope.event_id, "test"):
            projection.apply(uow, envelope)
            uow.commit()
    finally:
        uow.close()


def test_batches_over_the_same_accounts_in_opposite_orders_are_projected_at_once(database_url, monkeypatch,
                                                                                tmp_path):
    url = database_url("billing")
    if not url.startswith("postgres"):
        pytest.skip("row locks and deadlocks are PostgreSQL's (SQLite writes one at a time)")
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    db = MigratedDatabase("billing", MIGRATIONS, url)
    try:
        distributor, partner = uuid.uuid4(), uuid.uuid4()
        project(db, simulate.tenant_created(distributor, OPERATOR, "distributor", "Northwind"))
        project(db, simulate.tenant_created(partner, distributor, "partner", "Contoso IT"))
        accounts = [uuid.uuid4() for _ in range(40)]
        for index, account in enumerate(accounts):
            project(db, simulate.account_created(account, partner, "partner", f"Account {index}"))
        tasks = {account: uuid.uuid4() for account in accounts}
        when = datetime.now(UTC) - timedelta(hours=1)
        rng = random.Random(7)
        batches = []
        for number in range(6):  # each touches every account, in its own order
            order = accounts[:]
            rng.shuffle(order)
            batches.append(simulate.runs_recorded(
                [(tasks[a], a, partner, when + timedelta(seconds=number), 10 + number) for a in order]))

        workers = [eventlet.spawn(project, db, batch) for batch in batches]
        for worker in workers:
            worker.wait()  # a deadlock would raise here (psycopg.errors.DeadlockDetected)

        session = db.unit_of_work().session  # every batch is in: no worker was chosen as a deadlock victim
        assert set(session.execute(sa.select(Account.seats).where(Account.id.in_(accounts))).scalars()) == {15}
        assert session.execute(sa.select(sa.func.count()).select_from(UsageSnapshot)).scalar_one() == len(accounts)
    finally:
        db.dispose()
