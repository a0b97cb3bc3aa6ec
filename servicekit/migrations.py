"""Alembic per service, applied on start (and by ``portal migrate``).

Each service keeps its own ``migrations/`` folder; its ``env.py`` calls :func:`run_env`.
On PostgreSQL an advisory lock serialises instances that start together.
"""

from __future__ import annotations

import threading
import zlib
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from servicekit.tables import kit_metadata
from servicekit.types import UtcDateTime


def alembic_config(migrations_dir: Path, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


# alembic keeps its running environment in module globals, so two services starting in
# one process (tests run several) must not migrate at the same moment.
_alembic_lock = threading.Lock()


def upgrade(engine: sa.Engine, migrations_dir: Path, service: str) -> None:
    with _alembic_lock, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock_key = zlib.crc32(f"migrate:{service}".encode())
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
        command.upgrade(alembic_config(migrations_dir, connection), "head")


def current_revision(connection: sa.Connection) -> str | None:
    """The applied revision, read straight from alembic's table (no alembic machinery)."""
    row = connection.execute(sa.text("SELECT version_num FROM alembic_version")).first()
    return row[0] if row else None


def run_env(service_metadata: sa.MetaData) -> None:
    """Body of every service's ``env.py``: online migrations on the given connection."""
    config = context.config
    connection = config.attributes.get("connection")
    target = [service_metadata, kit_metadata]
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no connection or sqlalchemy.url given to alembic")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _run(conn, target)
        engine.dispose()
    else:
        _run(connection, target)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the kit's column types as what they store, so migrations import nothing of ours."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: sa.Connection, target: list[sa.MetaData]) -> None:
    context.configure(
        connection=connection,
        target_metadata=target,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
