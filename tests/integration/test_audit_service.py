"""The audit service against the real broker and PostgreSQL: deliveries, concurrency, the
restricted role, the append-only guards, verification and the purge path."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.audit import Activity, AuditQuery, VerifyReport
from contracts.context import CALLER_KEY, Caller
from contracts.envelope import Actor, EventEnvelope
from servicekit import deadletters
from servicekit.db import make_engine
from servicekit.outbox import declare_events_exchange
from servicekit.settings import normalise_database_url
from services.audit.adapters.models import AuditEntry
from services.audit.entrypoints import AuditService
from services.audit.usecases import retention
from tests.support.fixtures import MigratedDatabase, fresh_vhost, wait_for
from tests.usecases.conftest import ROOT

pytestmark = pytest.mark.integration

TENANT = uuid.uuid4()
SYSTEM = Caller(is_system=True)


@pytest.fixture
def owner_url(database_url) -> str:
    return database_url("audit")


@pytest.fixture
def restricted_url(owner_url: str, postgres_admin_url: str | None) -> Iterator[str]:
    """A login role that is a member of the restricted ``audit_writer`` role, on the same database."""
    if postgres_admin_url is None:
        pytest.skip("the restricted role is PostgreSQL's")
    login = f"audit_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute("DO $$ BEGIN CREATE ROLE audit_writer NOLOGIN; "
                     "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        conn.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE audit_writer')
    parts = urlsplit(owner_url)
    yield urlunsplit((parts.scheme, f"{login}@{parts.hostname}:{parts.port or 5432}", parts.path, "", ""))
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{login}"')


def publish(amqp_uri: str, *envelopes: EventEnvelope) -> None:
    """As the publishing service's outbox relay would (any AMQP client may do it)."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for env in envelopes:
            exchange = declare_events_exchange(env.source)
            producer.publish(env.to_wire(), exchange=exchange, routing_key=env.type, declare=[exchange],
                             serializer="json", delivery_mode=2, message_id=str(env.event_id))


def signed_in(email: str, at: datetime | None = None, tenant_id: uuid.UUID = TENANT) -> EventEnvelope:
    return EventEnvelope(type="signed_in", source="identity", tenant_id=tenant_id,
                         occurred_at=at or datetime.now(UTC), actor=Actor(ip="203.0.113.9", user_agent="curl/8"),
                         payload={"email": email, "method": "password", "two_factor": False})


def entries(url: str, tenant_id: uuid.UUID = TENANT) -> list[Any]:
    engine = make_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.hash,
                                                     AuditEntry.event_id)
                                           .where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.seq)))
    finally:
        engine.dispose()


@pytest.fixture
def system_rpc(nameko_config: dict[str, Any]) -> Iterator[Any]:
    import servicekit.rpc  # noqa: F401  (boundary errors come back typed)

    with ClusterRpcProxy(nameko_config, timeout=30, context_data={CALLER_KEY: SYSTEM.to_wire()}) as proxy:
        yield proxy


def publish_raw(amqp_uri: str, body: Any, routing_key: str = "signed_in") -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        exchange = declare_events_exchange("identity")
        connection.Producer().publish(body, exchange=exchange, routing_key=routing_key, declare=[exchange],
                                      serializer="json")


def test_a_redelivered_event_makes_one_entry(start_services, amqp_uri, owner_url, system_rpc):
    start_services(AuditService, env={"AUDIT_DATABASE_URL": owner_url})
    env = signed_in("dana@northwind.example")

    publish(amqp_uri, env, env)
    publish(amqp_uri, env)

    wait_for(lambda: entries(owner_url), message="the entry")
    wait_for(lambda: system_rpc.audit.search(AuditQuery().to_wire())["total"] >= 1, message="the search")
    page = system_rpc.audit.search(AuditQuery().to_wire())
    assert [item["id"] for item in page["items"]] == [str(env.event_id)]
    assert page["items"][0]["description"] == "Native sign in (OK) curl from ip 203.0.113.9"
    assert len(entries(owner_url)) == 1


def test_a_message_that_is_not_an_event_is_parked_not_lost(owner_url, monkeypatch, tmp_path):
    from nameko.runners import ServiceRunner

    # A vhost of its own: the queues are declared with a delivery limit of 1 here.
    with fresh_vhost("portal_audit_dlq") as vhost_uri:
        for key, value in {"AUDIT_DATABASE_URL": owner_url, "PORTAL_EVENT_DELIVERY_LIMIT": "1",
                           "PORTAL_EVENT_RETRY_BASE_SECONDS": "0", "PORTAL_VAR_DIR": str(tmp_path)}.items():
            monkeypatch.setenv(key, value)
        runner = ServiceRunner({"AMQP_URI": vhost_uri, "max_workers": 4, "serializer": "json"})
        runner.add_service(AuditService)
        runner.start()
        try:
            publish_raw(vhost_uri, {"type": "signed_in", "payload": "not an envelope"})
            publish(vhost_uri, signed_in("after.the.junk@northwind.example"))

            wait_for(lambda: entries(owner_url), message="the event after the junk")
            parked = wait_for(lambda: deadletters.show(vhost_uri, "evt-identity-signed_in--audit.record"),
                              message="the junk in the dead-letter queue")
        finally:
            runner.stop()
    assert [(letter.event_type, letter.event_id) for letter in parked] == [("signed_in", None)]


def test_concurrent_appends_by_two_instances_keep_one_unbroken_chain(start_services, amqp_uri, owner_url,
                                                                     system_rpc):
    settings = {"AUDIT_DATABASE_URL": owner_url}
    start_services(AuditService, env=settings)
    start_services(AuditService, env=settings)  # a second instance: competing consumers on the same queues
    burst = [signed_in(f"user{i}@northwind.example") for i in range(150)]

    publish(amqp_uri, *burst)

    wait_for(lambda: len(entries(owner_url)) == len(burst), timeout=60, message="every entry")
    chain = entries(owner_url)
    assert [row.seq for row in chain] == list(range(1, len(burst) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert {row.event_id for row in chain} == {env.event_id for env in burst}
    assert VerifyReport.from_wire(system_rpc.audit.verify()).ok


def test_the_service_runs_as_the_restricted_role_which_may_not_change_entries(
    start_services, amqp_uri, owner_url, restricted_url, system_rpc
):
    start_services(AuditService, env={"AUDIT_DATABASE_URL": restricted_url,
                                      "AUDIT_MIGRATION_DATABASE_URL": owner_url})
    publish(amqp_uri, signed_in("dana@northwind.example"))
    wait_for(lambda: entries(owner_url), message="the entry written as the restricted role")
    assert system_rpc.audit.health()["status"] == "ok"

    with psycopg.connect(restricted_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("UPDATE audit_entries SET description = 'nothing happened'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("DELETE FROM audit_entries")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE audit_entries")
        with pytest.raises(psycopg.errors.RaiseException, match="at least a day old"):
            conn.execute("SELECT audit_purge(%s, 1000, now())", (TENANT,))
    with psycopg.connect(owner_url, autocommit=True) as conn:  # even the owner goes through the trigger
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: UPDATE refused"):
            conn.execute("UPDATE audit_entries SET description = 'nothing happened'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: DELETE refused"):
            conn.execute("DELETE FROM audit_entries")
    assert len(entries(owner_url)) == 1


def test_verify_reports_an_entry_edited_directly_in_the_database(start_services, amqp_uri, owner_url, system_rpc):
    if not owner_url.startswith("postgres"):
        pytest.skip("edits the PostgreSQL database with psycopg (SQLite: tests/usecases/test_audit_trail.py)")
    start_services(AuditService, env={"AUDIT_DATABASE_URL": owner_url})
    burst = [signed_in(f"user{i}@northwind.example", at=datetime.now(UTC) + timedelta(seconds=i)) for i in range(4)]
    publish(amqp_uri, *burst)
    wait_for(lambda: len(entries(owner_url)) == 4, message="the entries")
    assert VerifyReport.from_wire(system_rpc.audit.verify(str(TENANT))).ok
    victim = entries(owner_url)[2]

    with psycopg.connect(owner_url, autocommit=True) as conn:  # a superuser, with triggers switched off
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit_entries SET performed_by = 'someone.else@example.com' WHERE event_id = %s",
                     (victim.event_id,))

    report = VerifyReport.from_wire(system_rpc.audit.verify())
    [broken] = report.breaks
    assert (broken.tenant_id, broken.seq, broken.entry_id, broken.problem) == (
        TENANT, victim.seq, victim.event_id, "hash_mismatch")


def test_the_restricted_role_purges_only_through_the_retention_path(owner_url, restricted_url, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    migrations = ROOT / "services" / "audit" / "adapters" / "migrations"
    MigratedDatabase("audit", migrations, owner_url).dispose()
    db = MigratedDatabase("audit", migrations, restricted_url)
    try:
        from services.audit.usecases.trail import record_event

        now = datetime.now(UTC)
        for days in (500, 400, 3):
            record_event(db.unit_of_work(), signed_in("dana@northwind.example", at=now - timedelta(days=days)))

        result = retention.purge_expired(db.unit_of_work(), retention_days=365, now=now)

        assert result.removed == 2
        kept = entries(owner_url)
        assert [row.seq for row in kept] == [3, 4]
        from services.audit.usecases.verify import verify_chains

        assert verify_chains(db.unit_of_work().session).ok
        activities = {r.activity for r in db.unit_of_work().session.execute(sa.select(AuditEntry.activity))}
        assert activities == {Activity.SIGN_IN.value, Activity.RETENTION.value}
    finally:
        db.dispose()


def test_verify_reports_an_entry_deleted_directly_in_the_database(start_services, amqp_uri, owner_url, system_rpc):
    if not owner_url.startswith("postgres"):
        pytest.skip("deletes in the PostgreSQL database with psycopg (SQLite: tests/usecases/test_audit_trail.py)")
    start_services(AuditService, env={"AUDIT_DATABASE_URL": owner_url})
    burst = [signed_in(f"user{i}@northwind.example", at=datetime.now(UTC) + timedelta(seconds=i)) for i in range(4)]
    publish(amqp_uri, *burst)
    wait_for(lambda: len(entries(owner_url)) == 4, message="the entries")
    assert VerifyReport.from_wire(system_rpc.audit.verify(str(TENANT))).ok
    chain = entries(owner_url)
    victim, next_one = chain[1], chain[2]

    with psycopg.connect(owner_url, autocommit=True) as conn:  # a superuser, with triggers switched off
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM audit_entries WHERE event_id = %s", (victim.event_id,))

    report = VerifyReport.from_wire(system_rpc.audit.verify())
    [broken] = report.breaks
    assert (broken.tenant_id, broken.seq, broken.problem) == (TENANT, victim.seq, "missing_entries")
    assert broken.entry_id == next_one.event_id  # the first entry after the gap
    assert VerifyReport.from_wire(system_rpc.audit.verify(str(TENANT))).breaks == [broken]


def test_the_purge_timer_purges_past_the_default_year_and_records_it(start_services, owner_url, monkeypatch,
                                                                    tmp_path):
    from nameko.testing.services import entrypoint_hook
    from nameko.timer import Timer

    from services.audit.settings import AuditSettings
    from services.audit.usecases.trail import record_event

    monkeypatch.delenv("AUDIT_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("AUDIT_PURGE_INTERVAL_SECONDS", raising=False)
    assert (AuditSettings().retention_days, AuditSettings().purge_interval_seconds) == (365, 24 * 3600)
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    db = MigratedDatabase("audit", ROOT / "services" / "audit" / "adapters" / "migrations", owner_url)
    now = datetime.now(UTC)
    try:
        for days in (400, 366, 364, 3):
            record_event(db.unit_of_work(), signed_in(f"{days}.days.ago@northwind.example",
                                                      at=now - timedelta(days=days)))
    finally:
        db.dispose()
    runner = start_services(AuditService, env={"AUDIT_DATABASE_URL": owner_url})
    [container] = runner.containers
    [timer] = [e for e in container.entrypoints if isinstance(e, Timer)]
    assert (timer.method_name, timer.interval) == ("purge", 24 * 3600)

    with entrypoint_hook(container, "purge") as fire:  # what the timer does when its interval is up
        fire()

    engine = make_engine(normalise_database_url(owner_url))
    try:
        with engine.connect() as connection:
            kept = connection.execute(sa.select(AuditEntry.performed_by, AuditEntry.activity)
                                      .where(AuditEntry.tenant_id == TENANT).order_by(AuditEntry.seq)).all()
    finally:
        engine.dispose()
    assert [(row.performed_by, row.activity) for row in kept] == [
        ("364.days.ago@northwind.example", Activity.SIGN_IN.value), ("3.days.ago@northwind.example", "sign_in"),
        (None, Activity.RETENTION.value)]


def test_every_audited_event_of_the_other_services_has_its_queue_consumed_by_record(start_services, owner_url):
    from contracts.events import source_of
    from servicekit.events import ReliableEventHandler
    from services.audit.domain.audited_events import SUBSCRIPTIONS

    runner = start_services(AuditService, env={"AUDIT_DATABASE_URL": owner_url})
    [container] = runner.containers
    handlers = [e for e in container.entrypoints if isinstance(e, ReliableEventHandler)]

    assert {handler.method_name for handler in handlers} == {"record"}
    assert sorted(handler.queue.name for handler in handlers) == sorted(
        f"evt-{source_of(event)}-{event.value}--audit.record" for event in SUBSCRIPTIONS)
    assert "evt-identity-signed_in--audit.record" in {handler.queue.name for handler in handlers}
