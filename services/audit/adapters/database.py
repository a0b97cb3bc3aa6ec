"""The audit service's database provider: migrations may run as another (owning) role.

On PostgreSQL the service should run as the restricted role made by migration 0002
(``AUDIT_DATABASE_URL``), which may not create tables; ``AUDIT_MIGRATION_DATABASE_URL``
(the owner) then applies migrations first. Without it the kit's behaviour is unchanged:
one URL for both (SQLite for ``make run``).
"""

from __future__ import annotations

from pathlib import Path

from servicekit.db import Database, make_engine
from servicekit.migrations import upgrade
from servicekit.settings import normalise_database_url
from services.audit.settings import AuditSettings


def migrate_as_owner(migrations_dir: Path, url: str) -> None:
    engine = make_engine(normalise_database_url(url), pool_size=1)
    try:
        upgrade(engine, migrations_dir, "audit")
    finally:
        engine.dispose()


class AuditDatabase(Database):
    def setup(self) -> None:
        owner_url = AuditSettings().migration_database_url
        if owner_url:
            migrate_as_owner(self.migrations_dir, owner_url)
        # The kit's setup then finds the schema at head: as the restricted role it only reads
        # alembic_version.
        super().setup()
