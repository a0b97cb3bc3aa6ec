"""An operator issues a backup-engine API key: announced without the key."""

from __future__ import annotations

from pydantic import SecretStr

from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.events import IdentityEvent
from contracts.identity import EngineKeyRequest
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from services.identity.usecases.bootstrap import OperatorSettings, bootstrap_operator
from services.identity.usecases.engine_keys import create_engine_key


def test_an_issued_engine_key_is_announced_without_the_key(identity_db):
    operator_id = bootstrap_operator(identity_db.unit_of_work(), OperatorSettings(
        email="ops@vendor.example", password=SecretStr("first-start-password")))
    caller = Caller(user_id=operator_id, tenant_id=OPERATOR_TENANT_ID, role="administrator",
                    tenant_kind=TenantKind.OPERATOR)
    uow = identity_db.unit_of_work(caller)

    issued = create_engine_key(uow, CallContext("identity", caller, "test"), EngineKeyRequest(name="engine-eu"))

    [event] = identity_db.events(IdentityEvent.ENGINE_KEY_CREATED.value)
    assert event["payload"] == {"key_id": str(issued.id), "name": "engine-eu"}
    assert issued.key not in str(event)
