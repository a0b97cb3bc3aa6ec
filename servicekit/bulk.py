"""Reading and writing many rows in one statement.

The ORM's flush sends one UPDATE per changed object, and an executemany one statement per
row; for a batch of hundreds that is hundreds of statements for the database to plan and
run, and under eventlet each round of psycopg's pipeline is a trip through the hub: that
CPU, not the SQL, was most of what ingesting a batch cost. On PostgreSQL the helpers here
send each batch as one statement over typed array parameters (``unnest``, ``= ANY``), whose
text is the same whatever the number of rows, so SQLAlchemy, psycopg and PostgreSQL keep it
prepared; elsewhere (SQLite) they fall back to ``IN`` and an executemany of one cached
statement.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.array import ListBinaryDumper
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class _Array(list[Any]):
    """A column's values sent as one PostgreSQL array, in psycopg's binary format: its text
    format quotes every element in Python, several times slower for uuids and timestamps."""


psycopg.adapters.register_dumper(_Array, ListBinaryDumper)


def _array(session: Session, type_: sa.types.TypeEngine[Any], values: Iterable[Any]) -> _Array:
    """``values`` through the column type's own conversion (``UtcDateTime`` refuses a naive
    datetime), as one array parameter; the statement casts it to the column's type."""
    dialect = session.get_bind().dialect
    convert = type_.dialect_impl(dialect).bind_processor(dialect)
    return _Array(values if convert is None else map(convert, values))


def any_of(session: Session, column: sa.ColumnElement[Any], values: Collection[Any]) -> sa.ColumnElement[bool]:
    """``column IN values``: on PostgreSQL ``column = ANY(<one array>)``, a statement of one shape
    for any number of values (an expanding ``IN`` is new SQL text for every count)."""
    if on_postgresql(session):
        array = sa.bindparam(None, _array(session, column.type, values), type_=sa.types.NullType())
        return column == sa.any_(sa.cast(array, postgresql.ARRAY(column.type)))
    return column.in_(values)


def unnest_rows(types: Mapping[str, sa.types.TypeEngine[Any]]) -> Any:
    """PostgreSQL rows from one array parameter per column (:func:`arrays_of` binds them):
    ``unnest(CAST(:a_array AS T[]), …) AS anon(a, …)``, to select from or join."""
    arrays = [sa.cast(sa.bindparam(_param(name)), postgresql.ARRAY(_unbounded(type_))) for name, type_ in types.items()]
    return sa.func.unnest(*arrays).table_valued(*(sa.column(name, type_) for name, type_ in types.items())
                                                ).render_derived()


def _unbounded(type_: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    # An explicit CAST to VARCHAR(n) cuts a longer text silently; the column itself refuses it.
    return sa.String() if type(type_) in (sa.String, sa.VARCHAR) and type_.length else type_  # type: ignore[attr-defined]


def _param(name: str) -> str:
    # Not the column's own name: an UPDATE or INSERT keeps those for its SET and VALUES.
    return f"{name}_array"


def arrays_of(session: Session, types: Mapping[str, sa.types.TypeEngine[Any]],
              rows: Sequence[Mapping[str, Any]]) -> dict[str, _Array]:
    """Rows as one array per column: the parameters of :func:`unnest_rows`."""
    return {_param(name): _array(session, type_, [row[name] for row in rows]) for name, type_ in types.items()}


def insert_rows(session: Session, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> sa.Result[Any]:
    """Run ``statement`` (an INSERT, maybe with ON CONFLICT and RETURNING) for every row; every row
    names the same columns, and rows go in in the order given (the order their locks are taken).
    On PostgreSQL one ``INSERT … SELECT FROM unnest(…)``; elsewhere an executemany."""
    if not on_postgresql(session):
        return session.execute(statement, list(rows))
    table: Any = statement.table
    types = {name: table.c[name].type for name in rows[0]}
    values = unnest_rows(types)
    return session.execute(statement.from_select(list(types), sa.select(*values.c)), arrays_of(session, types, rows))


def update_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], key: str = "id") -> int:
    """Set each row's columns where ``key`` matches; every row names the same columns. Returns rows updated."""
    if not rows:
        return 0
    columns = [name for name in rows[0] if name != key]
    if on_postgresql(session):
        types = {name: table.c[name].type for name in [key, *columns]}
        values = unnest_rows(types)
        update = (sa.update(table).where(table.c[key] == values.c[key])
                  .values({name: values.c[name] for name in columns}))
        result = session.execute(update, arrays_of(session, types, rows))
        return int(result.rowcount)  # type: ignore[attr-defined]
    update = (sa.update(table).where(table.c[key] == sa.bindparam("_key"))
              .values({name: sa.bindparam(name) for name in columns}))
    session.execute(update, [{"_key": row[key], **{name: row[name] for name in columns}} for row in rows])
    return len(rows)


def add_to_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], key: str = "id") -> None:
    """Add each row's numbers to its columns where ``key`` matches (``x = x + d`` in SQL: concurrent
    additions never lose one); rows are locked in ``key`` order. Every row names the same columns."""
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row[key])
    columns = [name for name in rows[0] if name != key]
    if on_postgresql(session):
        # One UPDATE … FROM locks rows in whatever order its plan takes; locking them first, in
        # key order, keeps the one order every writer uses (two batches cannot deadlock).
        session.execute(sa.select(table.c[key]).where(any_of(session, table.c[key], [row[key] for row in rows]))
                        .order_by(table.c[key]).with_for_update())
        types = {name: table.c[name].type for name in [key, *columns]}
        values = unnest_rows(types)
        session.execute(sa.update(table).where(table.c[key] == values.c[key])
                        .values({name: table.c[name] + values.c[name] for name in columns}),
                        arrays_of(session, types, rows))
        return
    update = (sa.update(table).where(table.c[key] == sa.bindparam("_key"))
              .values({name: table.c[name] + sa.bindparam(name) for name in columns}))
    session.execute(update, [{"_key": row[key], **{name: row[name] for name in columns}} for row in rows])
