import pytest

from contracts.errors import PermissionDenied
from servicekit.seed import seed
from services.identity.entrypoints import IdentityService
from services.tenancy.entrypoints import TenancyService

pytestmark = pytest.mark.integration


def test_demo_seed_builds_the_tree_and_its_administrator_once(start_services, amqp_uri):
    start_services(TenancyService, IdentityService)

    first = seed(amqp_uri)
    second = seed(amqp_uri)

    assert first["created"] is True
    assert (first["partners"], first["accounts"]) == (3, 11)
    assert second["created"] is False
    assert second["distributor_id"] == first["distributor_id"]
    assert (second["partners"], second["accounts"]) == (3, 11)


def test_demo_seed_is_refused_to_ordinary_callers(start_services, rpc_proxy):
    start_services(TenancyService)

    with pytest.raises(PermissionDenied):
        rpc_proxy.tenancy.seed_demo()
