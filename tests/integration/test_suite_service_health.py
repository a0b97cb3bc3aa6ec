import os
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.orm import sessionmaker

from contracts.errors import ServiceUnavailable
from servicekit.context import SYSTEM_CALLER, CallContext
from servicekit.db import UnitOfWork, make_engine
from servicekit.settings import normalise_database_url
from services.identity.entrypoints import IdentityService

pytestmark = pytest.mark.integration


def head_revision(service: str) -> str | None:
    migrations = Path(__file__).resolve().parents[2] / "services" / service / "adapters" / "migrations"
    return ScriptDirectory(str(migrations)).get_current_head()


def test_health_rpc_touches_the_service_database(start_services, rpc_proxy, postgres_admin_url):
    start_services(IdentityService)

    reply = rpc_proxy.identity.health()

    assert reply["status"] == "ok"
    assert reply["database"] == ("postgresql" if postgres_admin_url else "sqlite")
    assert reply["schema_revision"] == head_revision("identity")


def test_health_says_the_database_is_unavailable_when_it_is_gone(
    start_services, rpc_proxy, postgres_admin_url, monkeypatch
):
    if postgres_admin_url is None:
        pytest.skip("a SQLite file cannot be taken away from a running service the same way")
    start_services(IdentityService)
    assert rpc_proxy.identity.health()["status"] == "ok"
    database = os.environ["IDENTITY_DATABASE_URL"].rsplit("/", 1)[1]

    # The database disappears under the running service (its connections are cut).
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')

    with pytest.raises(ServiceUnavailable) as refused:
        rpc_proxy.identity.health()
    assert refused.value.details == {"service": "identity", "reason": "database unavailable"}


def test_a_unit_of_work_whose_connection_was_cut_closes_quietly(database_url, postgres_admin_url):
    """A worker's teardown rolls back its session: a connection the server cut meanwhile (a
    restart, a failover, a dropped database) must not raise there, where it would take the
    whole service container down with it."""
    if postgres_admin_url is None:
        pytest.skip("needs PostgreSQL to cut a connection")
    engine = make_engine(normalise_database_url(database_url("identity")))
    contexts = sessionmaker(bind=engine)
    uow = UnitOfWork(contexts, "identity", CallContext("identity", SYSTEM_CALLER, "test-cut"))
    backend = uow.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

    uow.close()

    again = UnitOfWork(contexts, "identity", CallContext("identity", SYSTEM_CALLER, "test-again"))
    assert again.session.execute(sa.text("SELECT 1")).scalar_one() == 1
    again.close()
    engine.dispose()
