"""Upgrading to 0006 counts the partners already below each distributor, and those owing; 0008
copies each owner's kind and path onto its roll-up row (SQLite, or PostgreSQL with ``USECASE_DB=postgres``)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from servicekit.db import make_engine
from servicekit.migrations import alembic_config
from servicekit.settings import normalise_database_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "tenancy" / "adapters" / "migrations"
TENANTS = sa.table("tenants", *(sa.column(name, sa.Uuid()) for name in ("id", "parent_id")),
                   *(sa.column(name, sa.String()) for name in ("kind", "name", "path")),
                   sa.column("depth", sa.Integer()), sa.column("created_at", sa.DateTime(timezone=True)))
ROLLUPS = sa.table("owner_rollups", sa.column("owner_id", sa.Uuid()), sa.column("billing_owing", sa.Integer()))
OPERATOR = uuid.UUID("00000000-0000-4000-8000-000000000001")


def migrate_to(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(MIGRATIONS, connection), revision)


def test_the_upgrade_counts_the_partners_and_those_owing_below_every_distributor(tmp_path: Any, request: Any) -> None:
    url = f"sqlite:///{tmp_path}/tenancy.db"
    if os.environ.get("USECASE_DB") == "postgres":
        url = normalise_database_url(request.getfixturevalue("database_url")("tenancy"))
    engine = make_engine(url)
    migrate_to(engine, "0005")
    top, east, lone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    tenants: list[dict[str, Any]] = []

    def add(tenant_id: uuid.UUID, parent: dict[str, Any] | None, kind: str) -> dict[str, Any]:
        path = f"{parent['path'] if parent else f'/{OPERATOR}/'}{tenant_id}/"
        row = {"id": tenant_id, "parent_id": parent["id"] if parent else OPERATOR, "kind": kind,
               "name": f"{kind} {len(tenants)}", "path": path, "depth": path.count("/") - 2}
        tenants.append(row)
        return row

    top_row = add(top, None, "distributor")
    east_row = add(east, top_row, "distributor")
    add(lone, None, "distributor")
    owing = [add(uuid.uuid4(), parent, "partner") for parent in (top_row, east_row, east_row)][1]
    with engine.begin() as connection:
        has_operator = connection.execute(sa.select(TENANTS.c.id).where(TENANTS.c.id == OPERATOR)).first()
        connection.execute(TENANTS.insert(), [
            {**row, "parent_id": row["parent_id"] if has_operator or row["parent_id"] != OPERATOR else None,
             "created_at": datetime.now(UTC)} for row in tenants])
        connection.execute(ROLLUPS.insert(), [{"owner_id": row["id"], "billing_owing": 2 if row is owing else 0}
                                              for row in tenants])

    migrate_to(engine, "head")

    with engine.connect() as connection:
        kept = {row.owner_id: (row.partners_below, row.partners_owing_below) for row in connection.execute(
            sa.select(ROLLUPS.c.owner_id, sa.column("partners_below"), sa.column("partners_owing_below"))
            .select_from(ROLLUPS))}
        owners = {row.owner_id: (row.kind, row.path) for row in connection.execute(
            sa.select(ROLLUPS.c.owner_id, sa.column("kind"), sa.column("path")).select_from(ROLLUPS))}
    engine.dispose()
    assert (kept[top], kept[east], kept[lone]) == ((3, 1), (2, 1), (0, 0))
    assert owners == {row["id"]: (row["kind"], row["path"]) for row in tenants}
