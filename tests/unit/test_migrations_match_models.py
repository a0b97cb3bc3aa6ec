"""Each service's migrations build exactly the schema its models (and the kit's tables) declare.

A column added to a model or to the kit's outbox without a migration, or the other way
round, shows here as a difference alembic's autogenerate would write.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from servicekit.migrations import upgrade
from servicekit.tables import kit_metadata

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["audit", "billing", "identity", "notify", "tenancy"])
def test_the_migrations_of_a_service_build_the_schema_of_its_models(service: str, tmp_path: Path) -> None:
    models = importlib.import_module(f"services.{service}.adapters.models")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade(engine, ROOT / "services" / service / "adapters" / "migrations", service)
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (lower(name)): those alone go uncompared.
        warnings.simplefilter("ignore")
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       [models.metadata, kit_metadata])
    engine.dispose()

    assert differences == [], f"{service}: the migrations and the models differ: {differences}"
