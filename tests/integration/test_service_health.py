from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from services.identity.service import IdentityService

pytestmark = pytest.mark.integration


def head_revision(service: str) -> str | None:
    migrations = Path(__file__).resolve().parents[2] / "services" / service / "migrations"
    return ScriptDirectory(str(migrations)).get_current_head()


def test_health_rpc_touches_the_service_database(start_services, rpc_proxy, postgres_admin_url):
    start_services(IdentityService)

    reply = rpc_proxy.identity.health()

    assert reply["status"] == "ok"
    assert reply["database"] == ("postgresql" if postgres_admin_url else "sqlite")
    assert reply["schema_revision"] == head_revision("identity")
