"""A read-only unit of work: its statements run outside a transaction, and the pooled
connection it used goes back to the next unit of work transactional again."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from contracts.context import Caller
from servicekit.context import CallContext
from servicekit.db import UnitOfWork, make_engine
from servicekit.settings import normalise_database_url

pytestmark = pytest.mark.integration

NOTES = sa.Table("notes", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))


@pytest.fixture
def work(database_url: Callable[[str], str]) -> Iterator[Callable[[], UnitOfWork]]:
    # One pooled connection: every unit of work below reuses the one before it.
    engine = make_engine(normalise_database_url(database_url("kit")), pool_size=1)
    NOTES.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    ctx = CallContext("kit", Caller(is_system=True), str(uuid.uuid4()))
    yield lambda: UnitOfWork(factory, "kit", ctx)
    engine.dispose()


def in_transaction(uow: UnitOfWork) -> bool:
    """Whether the database connection is inside a transaction (PostgreSQL or SQLite)."""
    connection = uow.session.connection()
    if connection.dialect.name == "postgresql":
        status = connection.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]
        return status.name != "IDLE"
    return bool(connection.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]


def test_a_read_only_unit_of_work_reads_outside_a_transaction(work: Callable[[], UnitOfWork]) -> None:
    reads = work()
    reads.read_only()
    assert reads.session.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one() == 0
    assert not in_transaction(reads)  # no BEGIN was sent, so no ROLLBACK is owed either
    reads.close()

    writes = work()
    writes.session.execute(NOTES.insert().values(id=1, text="kept only if committed"))
    assert in_transaction(writes)


def test_the_next_unit_of_work_on_the_same_connection_is_transactional_again(
        work: Callable[[], UnitOfWork]) -> None:
    reads = work()
    reads.read_only()
    reads.session.execute(sa.select(NOTES.c.id)).all()
    reads.close()

    writes = work()
    writes.session.execute(NOTES.insert().values(id=1, text="rolled back"))
    writes.close()  # not committed: must leave nothing behind

    check = work()
    assert check.session.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one() == 0
    check.close()


def test_a_read_only_unit_of_work_refuses_to_write_or_announce(work: Callable[[], UnitOfWork]) -> None:
    reads = work()
    reads.read_only()
    with pytest.raises(RuntimeError, match="writes nothing"):
        reads.emit("note_added", {"id": 1})
    with pytest.raises(RuntimeError, match="writes nothing"):
        reads.commit()
    reads.close()


def test_read_only_comes_before_the_first_statement(work: Callable[[], UnitOfWork]) -> None:
    uow = work()
    uow.session.execute(sa.select(sa.literal(1)))
    with pytest.raises(RuntimeError, match="before the unit of work's first statement"):
        uow.read_only()
    uow.close()
