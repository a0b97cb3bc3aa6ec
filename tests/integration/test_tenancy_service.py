"""Tenancy against the real broker and PostgreSQL: ingest, the trial clock with two instances,
partner isolation over direct RPC, and runs arriving as AMQP messages from the engine."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kombu import Connection, Producer

from contracts.context import CALLER_KEY, Caller
from contracts.errors import NotFound
from contracts.events import EngineEvent, source_of
from servicekit.outbox import declare_events_exchange
from servicekit.settings import normalise_database_url
from servicekit.tables import outbox
from services.identity.entrypoints import IdentityService
from services.tenancy.adapters.models import Account
from services.tenancy.entrypoints import TenancyService
from tests.support.fixtures import MigratedDatabase, wait_for
from tests.usecases.tenancy_world import admin_of, build_world, operator

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "tenancy" / "adapters" / "migrations"


@pytest.fixture
def call_as(nameko_config: dict[str, Any]) -> Iterator[Callable[[Caller], Any]]:
    """``call_as(caller)``: an RPC proxy whose calls carry that caller, as the gateway's do."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with contextlib.ExitStack() as stack:

        def proxy(caller: Caller) -> Any:
            context = {CALLER_KEY: caller.to_wire()}
            return stack.enter_context(ClusterRpcProxy(nameko_config, context_data=context, timeout=15)).tenancy

        yield proxy


@pytest.fixture
def tenancy_url(database_url: Callable[[str], str]) -> str:
    return database_url("tenancy")


@pytest.fixture
def prepared(tenancy_url: str) -> Iterator[MigratedDatabase]:
    """The service's database, migrated, for arranging state before the service starts."""
    db = MigratedDatabase("tenancy", MIGRATIONS, normalise_database_url(tenancy_url))
    yield db
    db.dispose()


def run(task_id: str, finished: datetime, status: str = "success", size: int = 100, seats: int = 3) -> dict:
    return {"run_id": str(uuid.uuid4()), "task_id": task_id, "status": status,
            "started_at": (finished - timedelta(minutes=20)).isoformat(), "finished_at": finished.isoformat(),
            "size_bytes": size, "seats": seats}


def test_ingesting_the_same_runs_twice_counts_them_once(start_services, call_as, prepared, tenancy_url):
    world = build_world(prepared)
    # identity answers whether the new account's email has a user (ADR 0012)
    start_services(TenancyService, IdentityService, env={"TENANCY_DATABASE_URL": tenancy_url})
    admin = call_as(world.admin)
    account = admin.create_account({"name": "Coho", "email": "it@coho.example"})
    task = admin.add_backup_task(account["id"], {"service": "exchange", "name": "Mail"})
    engine = call_as(Caller(engine_key_id=uuid.uuid4()))
    now = datetime.now(UTC)
    batch = [run(task["id"], now - timedelta(hours=2), "failure", 50), run(task["id"], now, "success", 400, 9)]

    first = engine.ingest_backup_runs(batch)
    again = engine.ingest_backup_runs(list(reversed(batch)))

    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    view = admin.get_account(account["id"])
    assert (view["size_bytes"], view["seats"], view["backup_status"]) == (400, 9, "successful")
    assert view["tasks"][0]["runs"] == 2
    [recorded] = prepared.events("backup_runs_recorded")  # one event for the batch
    assert len(recorded["payload"]["runs"]) == 2


@pytest.mark.calendar
def test_two_instances_move_every_ended_trial_exactly_once(start_services, prepared, tenancy_url):
    world = build_world(prepared)
    long_ago = datetime.now(UTC) - timedelta(days=20)
    accounts = [world.add_account(f"Trial {i}", subscription="trial_auto_monthly" if i % 3 == 0 else None,
                                  at=long_ago + timedelta(minutes=i)) for i in range(120)]
    running = world.add_account("Still running", at=datetime.now(UTC))
    env = {"TENANCY_DATABASE_URL": tenancy_url, "TENANCY_TRIAL_CLOCK_SECONDS": "0.2",
           "TENANCY_TRIAL_BATCH_SIZE": "3"}

    start_services(TenancyService, env=env)
    start_services(TenancyService, env=env)  # a second instance on the same database

    def remaining() -> int:
        with prepared.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(Account).where(Account.status == "trial")
            ).scalar_one()

    wait_for(lambda: remaining() == 1, timeout=30, message="every ended trial to be moved")
    expired = [e["payload"]["account_id"] for e in prepared.events("trial_expired")]
    subscribed = [e["payload"]["account_id"] for e in prepared.events("account_subscribed")
                  if e["payload"]["reason"] == "auto_subscription"]
    assert len(expired) == 80 and len(subscribed) == 40
    assert sorted(expired + subscribed) == sorted(str(a.id) for a in accounts)  # each once, none skipped
    assert str(running.id) not in expired + subscribed


def test_a_forged_partner_caller_cannot_reach_another_partners_accounts(start_services, call_as, prepared,
                                                                         tenancy_url):
    world = build_world(prepared)
    mine, theirs = world.add_partner("Mine"), world.add_partner("Theirs")
    hidden = world.add_account("Hidden", theirs, at=datetime.now(UTC))
    start_services(TenancyService, env={"TENANCY_DATABASE_URL": tenancy_url})
    partner_user = call_as(admin_of(mine, "partner"))
    # The same user claiming to be an operator: tenancy reads the tenant's kind from its own data.
    boasting = call_as(admin_of(mine, "operator"))

    for proxy in (partner_user, boasting):
        with pytest.raises(NotFound):
            proxy.get_account(str(hidden.id))
        with pytest.raises(NotFound):
            proxy.list_accounts({"partner_id": str(theirs.id)})
        with pytest.raises(NotFound):
            proxy.remove_account(str(hidden.id), {"approve_data_removal": True})
    assert partner_user.subscribe_trials({"plan": "annual", "scope": "all"}) == {"changed": 0}
    assert call_as(operator()).get_account(str(hidden.id))["account_status"] == "trial_started"


def test_runs_published_by_the_engine_on_amqp_are_recorded_once(start_services, call_as, prepared, tenancy_url,
                                                               amqp_uri):
    world = build_world(prepared)
    account, marker_account = world.add_account("Coho"), world.add_account("Marker")
    task, marker_task = world.add_task(account), world.add_task(marker_account)
    start_services(TenancyService, env={"TENANCY_DATABASE_URL": tenancy_url})
    message = {"runs": [run(str(task), datetime.now(UTC), "partial", 777, 5)]}
    marker = {"runs": [run(str(marker_task), datetime.now(UTC), "success", 4242, 1)]}

    def publish(*bodies: dict) -> None:
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.default_channel)
            exchange = declare_events_exchange(source_of(EngineEvent.BACKUP_RUN_COMPLETED))
            for body in bodies:
                producer.publish(body, exchange=exchange, routing_key=EngineEvent.BACKUP_RUN_COMPLETED.value, serializer="json",
                                 declare=[exchange])

    publish(message, message, {"runs": [{"run_id": "not a uuid"}]})
    admin = call_as(world.admin)
    view = wait_for(lambda: (v := admin.get_account(str(account.id)))["size_bytes"] == 777 and v,
                    message="the engine's run to be recorded")
    assert view["backup_status"] == "partially_failed"
    # A later marker, published after the duplicate and the junk: once it is recorded, the
    # messages before it in the queue have been handled too.
    publish(marker)
    wait_for(lambda: admin.get_account(str(marker_account.id))["size_bytes"] == 4242, message="the marker run")
    with prepared.engine.connect() as connection:
        recorded = connection.execute(
            sa.select(outbox.c.body).where(outbox.c.routing_key == "backup_runs_recorded").order_by(outbox.c.id)
        ).scalars().all()
    assert [[r["run_id"] for r in body["payload"]["runs"]] for body in recorded] == [
        [message["runs"][0]["run_id"]], [marker["runs"][0]["run_id"]]]
