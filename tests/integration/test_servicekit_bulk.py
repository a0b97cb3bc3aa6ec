"""servicekit.bulk on both databases: one statement per batch on PostgreSQL, the same results as SQLite's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from servicekit.bulk import add_to_rows, any_of, insert_rows, update_rows
from servicekit.db import make_engine
from servicekit.settings import normalise_database_url
from servicekit.types import UtcDateTime

METADATA = sa.MetaData()
THINGS = sa.Table(
    "things", METADATA,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("code", sa.String(5), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=True),
)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Session]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/bulk.db"
    else:
        url = normalise_database_url(request.getfixturevalue("database_url")("bulk"))
        if not url.startswith("postgresql"):
            pytest.skip("no PostgreSQL (TEST_DB=sqlite)")
    engine = make_engine(url)
    METADATA.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _insert(session: Session) -> Any:
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(THINGS)


def _rows(session: Session) -> dict[uuid.UUID, tuple[str, int, datetime | None]]:
    return {row.id: (row.code, row.count, row.seen_at) for row in session.execute(sa.select(THINGS))}


def test_insert_rows_returns_only_the_rows_that_were_new(session):
    old, new = uuid.uuid4(), uuid.uuid4()
    session.execute(THINGS.insert().values(id=old, code="old", count=1))
    statement = _insert(session).on_conflict_do_nothing().returning(THINGS.c.id)
    rows = [{"id": old, "code": "again", "count": 9, "seen_at": T0},
            {"id": new, "code": "new", "count": 2, "seen_at": T0 + timedelta(hours=1)}]
    assert set(insert_rows(session, statement, rows).scalars()) == {new}
    assert _rows(session) == {old: ("old", 1, None), new: ("new", 2, T0 + timedelta(hours=1))}


def test_insert_rows_refuses_a_text_too_long_for_its_column_rather_than_cutting_it(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite keeps any length")
    with pytest.raises(sa.exc.DBAPIError):
        insert_rows(session, _insert(session), [{"id": uuid.uuid4(), "code": "toolong", "count": 0}])


def test_insert_rows_keeps_the_column_types_checks(session):
    with pytest.raises((ValueError, sa.exc.StatementError), match="naive datetime"):
        insert_rows(session, _insert(session), [{"id": uuid.uuid4(), "code": "a", "count": 0,
                                                 "seen_at": datetime(2026, 12, 1)}])


def test_any_of_matches_exactly_the_values_given(session):
    ids = [uuid.uuid4() for _ in range(5)]
    insert_rows(session, _insert(session), [{"id": i, "code": "a", "count": n} for n, i in enumerate(ids)])
    wanted = {ids[1], ids[3], uuid.uuid4()}
    assert set(session.execute(sa.select(THINGS.c.id).where(any_of(session, THINGS.c.id, wanted))).scalars()) == {
        ids[1], ids[3]}
    assert session.execute(sa.select(THINGS.c.id).where(any_of(session, THINGS.c.id, []))).all() == []


def test_update_rows_sets_and_add_to_rows_adds(session):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    insert_rows(session, _insert(session), [{"id": i, "code": "x", "count": 10} for i in (a, b, c)])
    assert update_rows(session, THINGS, [{"id": a, "code": "y", "count": 1, "seen_at": T0},
                                         {"id": b, "code": "z", "count": 2, "seen_at": None}]) == 2
    add_to_rows(session, THINGS, [{"id": b, "count": 5}, {"id": a, "count": -1}])
    add_to_rows(session, THINGS, [{"id": b, "count": 5}])
    update_rows(session, THINGS, [{"id": a, "seen_at": None}])  # an array of nulls only
    assert _rows(session) == {a: ("y", 0, None), b: ("z", 12, None), c: ("x", 10, None)}
