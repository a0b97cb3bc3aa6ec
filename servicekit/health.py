"""The ``health`` RPC every service answers: it really touches the database."""

from __future__ import annotations

import sqlalchemy as sa

from contracts.health import HealthReply
from servicekit.db import UnitOfWork
from servicekit.migrations import current_revision
from servicekit.tables import outbox


def check_health(uow: UnitOfWork) -> HealthReply:
    session = uow.session
    session.execute(sa.text("SELECT 1")).scalar_one()
    connection = session.connection()
    backlog = session.execute(
        sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    ).scalar_one()
    return HealthReply(
        service=uow.service,
        status="ok",
        database=connection.dialect.name,
        schema_revision=current_revision(connection),
        outbox_backlog=backlog,
    )
