import pytest

from services.identity.service import IdentityService

pytestmark = pytest.mark.integration


def test_health_rpc_touches_the_service_database(start_services, rpc_proxy, postgres_admin_url):
    start_services(IdentityService)

    reply = rpc_proxy.identity.health()

    assert reply["status"] == "ok"
    assert reply["database"] == ("postgresql" if postgres_admin_url else "sqlite")
    assert reply["schema_revision"] == "0001"
