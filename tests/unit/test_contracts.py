"""Every contract model survives the trip through kombu's JSON, and errors come back typed."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kombu.serialization import dumps, loads
from nameko.exceptions import deserialize, serialize

import contracts
import servicekit.rpc  # noqa: F401  (registers the boundary errors)
from contracts.base import WireModel
from contracts.context import Caller
from contracts.envelope import Actor, EventEnvelope
from contracts.errors import BOUNDARY_ERRORS, Throttled, ValidationFailed
from contracts.health import HealthReply
from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    CreateUserRequest,
    EngineIdentity,
    EngineKeyCreated,
    EngineKeyRequest,
    IpEntryRequest,
    IpEntryView,
    IpRestrictionsView,
    PasswordPolicyView,
    Principal,
    SignInReply,
    SignInRequest,
    TwoFactorEnableReply,
    TwoFactorSetupReply,
    UpdateUserRequest,
    UserPage,
    UserView,
)
from contracts.notify import SendMailReply, SendMailRequest

USER = UserView(
    id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="partner", email="u@example.com", display_name="U",
    credential_type="password", role="custom", permissions=["view_dashboard"],
    accessible_accounts=[uuid.uuid4()], email_confirmed=True, two_factor_enabled=False,
    created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)
ENTRY = IpEntryView(id=uuid.uuid4(), description="office", addresses="203.0.113.7, 2001:db8::1")

EXAMPLES: dict[type[WireModel], WireModel] = {
    Actor: Actor(user_id=uuid.uuid4(), email="a@example.com", ip="203.0.113.7", user_agent="curl/8"),
    EventEnvelope: EventEnvelope(
        type="user_created",
        source="identity",
        occurred_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        tenant_id=uuid.uuid4(),
        actor=Actor(email="a@example.com"),
        correlation_id="req-1",
        payload={"user_id": str(uuid.uuid4()), "amount": "12.50"},
    ),
    Caller: Caller(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), role="administrator", ip="::1"),
    HealthReply: HealthReply(service="identity", status="ok", database="postgresql", schema_revision="0001"),
    SendMailRequest: SendMailRequest(
        template="email_confirmation", to="new.user@example.com", context={"confirm_url": "http://x/y"},
        idempotency_key="confirm:1", tenant_id=uuid.uuid4(),
    ),
    SendMailReply: SendMailReply(message_id=uuid.uuid4(), status="queued"),
    SignInRequest: SignInRequest(email="u@example.com", password="pw", totp_code="123456"),
    UserView: USER,
    SignInReply: SignInReply(token="t" * 43, expires_at=datetime(2026, 1, 2, tzinfo=UTC), user=USER,
                             password_expired=False),
    Principal: Principal(session_id=uuid.uuid4(), user=USER, password_expired=True),
    CreateUserRequest: CreateUserRequest(email="n@example.com", role="custom", permissions=["add_accounts"],
                                         accessible_accounts="all"),
    UpdateUserRequest: UpdateUserRequest(role="administrator", accessible_accounts=[uuid.uuid4()]),
    ConfirmEmailRequest: ConfirmEmailRequest(token="x" * 43, password="a long passphrase"),
    ChangePasswordRequest: ChangePasswordRequest(current_password="a", new_password="b", confirm_password="b"),
    TwoFactorSetupReply: TwoFactorSetupReply(secret="JBSWY3DPEHPK3PXP", otpauth_uri="otpauth://totp/x"),
    TwoFactorEnableReply: TwoFactorEnableReply(recovery_codes=["abcd-efgh-jkmn"]),
    PasswordPolicyView: PasswordPolicyView(expiration_enabled=True, max_age_days=60),
    IpEntryRequest: IpEntryRequest(description="office", range_from="198.51.100.1", range_to="198.51.100.9"),
    IpEntryView: ENTRY,
    IpRestrictionsView: IpRestrictionsView(enabled=True, your_ip="203.0.113.7", entries=[ENTRY]),
    UserPage: UserPage(items=[USER], page=1, page_size=25, total=1),
    EngineKeyRequest: EngineKeyRequest(name="engine eu-1"),
    EngineKeyCreated: EngineKeyCreated(id=uuid.uuid4(), name="engine eu-1", key="bre_" + "k" * 43,
                                       created_at=datetime(2026, 1, 1, tzinfo=UTC)),
    EngineIdentity: EngineIdentity(key_id=uuid.uuid4(), name="engine eu-1"),
}


def all_contract_models() -> list[type[WireModel]]:
    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"contracts.{module.name}")
    found: list[type[WireModel]] = []
    pending = list(WireModel.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("contracts."):
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def kombu_round_trip(data: Any) -> Any:
    content_type, encoding, body = dumps(data, serializer="json")
    return loads(body, content_type, encoding)


def test_every_contract_model_has_an_example():
    missing = {cls.__qualname__ for cls in all_contract_models()} - {cls.__qualname__ for cls in EXAMPLES}
    assert not missing, f"add an example for {sorted(missing)}"


@pytest.mark.parametrize("model", EXAMPLES.values(), ids=lambda m: type(m).__name__)
def test_contract_model_survives_a_kombu_json_round_trip(model: WireModel):
    wire = model.to_wire()

    assert type(model).from_wire(kombu_round_trip(wire)) == model
    assert "__type__" not in str(kombu_round_trip(wire))  # plain JSON, no kombu wrappers


@pytest.mark.parametrize("error_type", BOUNDARY_ERRORS, ids=lambda e: e.__name__)
def test_boundary_error_crosses_rpc_as_the_same_type(error_type):
    error = error_type("it went wrong", {"fields": [{"field": "email", "reason": "already in use"}]})

    back = deserialize(kombu_round_trip(serialize(error)))

    assert type(back) is error_type
    assert back.code == error_type.code
    assert back.message == "it went wrong"
    assert back.details == {"fields": [{"field": "email", "reason": "already in use"}]}


def test_error_details_keep_their_types_across_rpc():
    back = deserialize(kombu_round_trip(serialize(Throttled("slow down", {"retry_after": 8, "strict": True}))))

    assert back.details == {"retry_after": 8, "strict": True}


def test_validation_failed_names_the_field():
    error = ValidationFailed.for_field("email", "must be an email address")

    assert error.details == {"fields": [{"field": "email", "reason": "must be an email address"}]}
    assert error.status == 422
