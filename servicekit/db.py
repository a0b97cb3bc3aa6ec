"""Database access for a service: engine, unit of work, and the nameko provider.

A worker gets a :class:`UnitOfWork`. Use-case handlers commit it explicitly; whatever is
left uncommitted when the worker ends is rolled back. (nameko sends an RPC reply before
``worker_result`` runs, so committing there would let a caller see a reply for a change
that then failed to commit — docs/decisions/0003-explicit-unit-of-work.md.)
"""

from __future__ import annotations

import sqlite3
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import eventlet
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Actor, EventEnvelope
from servicekit.context import SYSTEM_CALLER, CallContext, context_from_data
from servicekit.logging import get_logger
from servicekit.loops import PollingLoop, short_error
from servicekit.migrations import upgrade
from servicekit.outbox import OutboxRelay, record_event, record_events
from servicekit.settings import KitSettings, database_url_for

log = get_logger(__name__)


T = TypeVar("T")

# SQLite waits for another connection's write lock inside the C library, which stops the
# whole eventlet hub (every green thread of the service) for as long as it waits. So one
# attempt may block for a few milliseconds only; between attempts the green thread sleeps
# cooperatively, until the lock is free or SQLITE_LOCK_WAIT_SECONDS have passed.
SQLITE_BUSY_TIMEOUT_MS = 5
SQLITE_LOCK_WAIT_SECONDS = 30.0
# Waiting cannot help these: another connection committed since this transaction's snapshot.
_NOT_WORTH_WAITING = {"SQLITE_BUSY_SNAPSHOT"}


def _lock_wait(exc: sqlite3.OperationalError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) and name not in _NOT_WORTH_WAITING


def wait_out_locks(attempt: Callable[[], T], wait_seconds: float | None = None) -> T:
    """``attempt()``, tried again while SQLite answers that the database is locked, with a
    cooperative sleep in between: other green threads run while this one waits (at most
    ``wait_seconds``, by default ``SQLITE_LOCK_WAIT_SECONDS``)."""
    deadline = time.monotonic() + (SQLITE_LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds)
    pause = 0.002
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not _lock_wait(exc) or time.monotonic() >= deadline:
                raise
        eventlet.sleep(pause)
        pause = min(pause * 2, 0.05)


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                 "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                              hide_parameters=True)

    @sa_event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never wait for the writer, nor the writer for readers.
        wait_out_locks(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @sa_event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, _: Any) -> bool:
        wait_out_locks(lambda: cursor.execute(statement, parameters))
        return True

    @sa_event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor: Any, statement: str, _: Any) -> bool:
        wait_out_locks(lambda: cursor.execute(statement))
        return True

    @sa_event.listens_for(engine, "do_executemany")
    def _executemany(cursor: Any, statement: str, parameters: Any, _: Any) -> bool:
        wait_out_locks(lambda: cursor.executemany(statement, parameters))
        return True

    return engine


def make_engine(url: str, pool_size: int = 12) -> sa.Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # At least as many connections as the service has workers.
    # hide_parameters: a database error's text (logged, sent back over RPC) must never carry
    # the statement's values, which can be personal data or secrets.
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                            hide_parameters=True)


class UnitOfWork:
    """One transaction's worth of work: a session plus the events it will announce."""

    def __init__(self, session_factory: sessionmaker[Session], service: str, ctx: CallContext,
                 on_events_committed: Any = None) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self.service = service
        self.context = ctx
        self._pending_events = 0
        self._on_events_committed = on_events_committed
        self._read_only = False

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._session_factory()
            if self._read_only:
                self._session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return self._session

    def read_only(self) -> None:
        """This work only reads: each statement runs on its own, outside a transaction.

        It spares a read the BEGIN and ROLLBACK round trips. What the reads see does not
        change: under READ COMMITTED (PostgreSQL's default, which the kit keeps) every statement
        of a transaction takes its own snapshot anyway. Call it before the first statement;
        such a unit of work refuses to announce events or commit."""
        if self._session is not None:
            raise RuntimeError("read_only() comes before the unit of work's first statement")
        self._read_only = True

    def _envelope(self, event_type: str, payload: dict[str, Any], tenant_id: uuid.UUID | None) -> EventEnvelope:
        caller = self.context.caller
        return EventEnvelope(
            type=event_type,
            source=self.service,
            tenant_id=tenant_id if tenant_id is not None else caller.tenant_id,
            actor=Actor(user_id=caller.user_id, email=caller.email, ip=caller.ip, user_agent=caller.user_agent),
            correlation_id=self.context.correlation_id,
            payload=payload,
        )

    def emit(self, event_type: str, payload: dict[str, Any], tenant_id: uuid.UUID | None = None) -> EventEnvelope:
        """Record an event in this transaction; it is published only if the transaction commits."""
        self._refuse_if_read_only()
        envelope = self._envelope(event_type, payload, tenant_id)
        record_event(self.session, envelope)
        self._pending_events += 1
        return envelope

    def emit_many(self, event_type: str, events: Sequence[tuple[dict[str, Any], uuid.UUID | None]]) -> None:
        """:meth:`emit` for many events of one type, ``(payload, tenant_id)`` each, in one round trip."""
        self._refuse_if_read_only()
        record_events(self.session, [self._envelope(event_type, payload, tenant_id) for payload, tenant_id in events])
        self._pending_events += len(events)

    def _refuse_if_read_only(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work writes nothing")

    def commit(self) -> None:
        self._refuse_if_read_only()
        if self._session is None:
            return
        self._session.commit()
        if self._pending_events and self._on_events_committed is not None:
            self._on_events_committed()
        self._pending_events = 0

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        self._pending_events = 0

    def close(self) -> None:
        """End the work, rolling back what was not committed. A connection the server cut
        meanwhile (a restart, a failover) is dropped from the pool quietly: raising here,
        in a worker's teardown, would take the whole service container down."""
        if self._session is None:
            return
        session, self._session = self._session, None
        try:
            session.rollback()
        except sa.exc.DBAPIError as exc:
            log.warning("rollback on a lost database connection", error=short_error(exc))
            session.invalidate()
        finally:
            session.close()


class Database(DependencyProvider):
    """Injects a :class:`UnitOfWork` per worker, migrates on start, runs the outbox relay.

    Declare it once per service: ``db = Database(MIGRATIONS_DIR)``.
    """

    def __init__(self, migrations_dir: Path | str, relay_outbox: bool = True,
                 on_start: Callable[[UnitOfWork], object] | None = None) -> None:
        self.migrations_dir = Path(migrations_dir)
        self.relay_outbox = relay_outbox
        self.on_start = on_start
        self.engine: sa.Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None
        self.relay: OutboxRelay | None = None
        self._units: weakref.WeakKeyDictionary[Any, UnitOfWork] = weakref.WeakKeyDictionary()
        self.relay_loop: PollingLoop | None = None

    def setup(self) -> None:
        kit = KitSettings()
        service = self.container.service_name
        url = database_url_for(service, kit)
        self.engine = make_engine(url, pool_size=max(kit.db_pool_size, self.container.max_workers))
        upgrade(self.engine, self.migrations_dir, service)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        amqp_uri = self.container.config.get("AMQP_URI", kit.amqp_uri)
        self.relay = OutboxRelay(self.engine, amqp_uri, batch_size=kit.outbox_batch_size)
        self.relay_loop = PollingLoop(self.relay.relay_once, kit.outbox_poll_seconds, "outbox relay")
        log.info("database ready", dialect=self.engine.dialect.name, service=service)

    def start(self) -> None:
        if self.on_start is not None:
            # Bootstrap work (e.g. the first operator) runs once the schema is in place.
            uow = self.new_unit_of_work()
            try:
                self.on_start(uow)
            finally:
                uow.close()
        if self.relay_outbox:
            assert self.relay_loop is not None
            self.container.spawn_managed_thread(self.relay_loop.run, identifier="outbox_relay")

    def stop(self) -> None:
        if self.relay_loop is not None:
            self.relay_loop.stop()
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def _kick(self) -> None:
        """Events were committed: publish them now rather than at the next poll."""
        if self.relay_loop is not None:
            self.relay_loop.wake()

    def new_unit_of_work(self, ctx: CallContext | None = None) -> UnitOfWork:
        """A unit of work outside any worker (bootstrap code, timers' helpers, tests)."""
        assert self.session_factory is not None, "Database provider is not set up"
        ctx = ctx or CallContext(self.container.service_name, SYSTEM_CALLER, str(uuid.uuid4()))
        return UnitOfWork(self.session_factory, self.container.service_name, ctx, self._kick)

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        ctx = context_from_data(self.container.service_name, worker_ctx.data)
        uow = self.new_unit_of_work(ctx)
        self._units[worker_ctx] = uow
        return uow

    def worker_teardown(self, worker_ctx: Any) -> None:
        uow = self._units.pop(worker_ctx, None)
        if uow is not None:
            uow.close()
