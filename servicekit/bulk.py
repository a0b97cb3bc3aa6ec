"""Writing many rows in one statement.

The ORM's flush sends one UPDATE per changed object; for a batch of hundreds that is
hundreds of statements for the database to plan and run. ``update_rows`` sends one:
on PostgreSQL an ``UPDATE … FROM unnest(<typed arrays>)``, elsewhere (SQLite) an
executemany of one cached statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


def update_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], key: str = "id") -> int:
    """Set each row's columns where ``key`` matches; every row names the same columns. Returns rows updated."""
    if not rows:
        return 0
    columns = [name for name in rows[0] if name != key]
    names = [key, *columns]
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        types = {name: table.c[name].type.compile(dialect=bind.dialect) for name in names}
        arrays = ", ".join(f"CAST(:{name} AS {types[name]}[])" for name in names)
        assignments = ", ".join(f'"{name}" = v."{name}"' for name in columns)
        statement = sa.text(
            f'UPDATE "{table.name}" AS t SET {assignments} FROM unnest({arrays}) '  # noqa: S608 (names are ours)
            f'AS v({", ".join(chr(34) + n + chr(34) for n in names)}) WHERE t."{key}" = v."{key}"'
        )
        result = session.execute(statement, {name: [row[name] for row in rows] for name in names})
        return int(result.rowcount)  # type: ignore[attr-defined]
    update = (sa.update(table).where(table.c[key] == sa.bindparam("_key"))
              .values({name: sa.bindparam(name) for name in columns}))
    session.execute(update, [{"_key": row[key], **{name: row[name] for name in columns}} for row in rows])
    return len(rows)
