import os
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory

from contracts.errors import ServiceUnavailable
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
