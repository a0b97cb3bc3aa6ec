"""Operator routes of tenancy and the engine's ingest route, over fake services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import Conflict, ValidationFailed
from contracts.identity import EngineIdentity, Principal, UserView
from contracts.tenancy import TenantProfile
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

AUTH = {"Authorization": "Bearer " + "t" * 43}
T0 = datetime(2026, 6, 1, tzinfo=UTC)
DISTRIBUTOR = TenantProfile(id=uuid.uuid4(), kind="distributor", parent_id=OPERATOR_TENANT_ID, name="Southwind",
                            email="d@southwind.example", country="GB", data_center="eu-west-2", created_at=T0)
BODY = {"name": "Southwind", "email": "d@southwind.example", "country": "GB", "data_center": "eu-west-2",
        "admin_email": "admin@southwind.example", "admin_password": "a long enough passphrase"}


def user(tenant_kind: str = "operator", tenant_id: uuid.UUID = OPERATOR_TENANT_ID) -> UserView:
    return UserView(id=uuid.uuid4(), tenant_id=tenant_id, tenant_kind=tenant_kind, email="op@vendor.example",
                    credential_type="password", role="administrator", permissions=[], accessible_accounts="all",
                    email_confirmed=True, two_factor_enabled=False, created_at=T0)


def http(answers: dict, tenant_kind: str = "operator") -> tuple[TestClient, FakeRpcClient]:
    session = Principal(session_id=uuid.uuid4(), user=user(tenant_kind), password_expired=False).to_wire()
    fake = FakeRpcClient({("identity", "check_session"): session, **answers})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def methods(fake: FakeRpcClient) -> list[str]:
    return [f"{c.call.service}.{c.call.method}" for c in fake.calls if c.call.method != "check_session"]


def test_a_distributor_is_created_with_its_first_administrator():
    admin = user("distributor", DISTRIBUTOR.id)
    client, fake = http({("tenancy", "create_distributor"): DISTRIBUTOR.to_wire(),
                         ("identity", "create_user"): admin.to_wire()})

    response = client.post("/api/v1/operator/distributors", headers=AUTH, json=BODY)

    assert response.status_code == 201, response.text
    assert response.json()["distributor"]["id"] == str(DISTRIBUTOR.id)
    assert methods(fake) == ["tenancy.create_distributor", "identity.create_user"]
    tenant_request = fake.calls[1].call.args[0]
    assert "admin_password" not in tenant_request and "admin_email" not in tenant_request
    assert fake.calls[2].call.args[0] == {
        "email": "admin@southwind.example", "password": "a long enough passphrase", "role": "administrator",
        "tenant_id": str(DISTRIBUTOR.id), "tenant_kind": "distributor"}


def test_when_identity_refuses_the_administrator_the_distributor_is_undone():
    weak = ValidationFailed.for_field("password", "is too weak")
    client, fake = http({("tenancy", "create_distributor"): DISTRIBUTOR.to_wire(),
                         ("identity", "create_user"): weak,
                         ("tenancy", "delete_distributor"): None})

    response = client.post("/api/v1/operator/distributors", headers=AUTH, json=BODY)

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "password"
    assert methods(fake) == ["tenancy.create_distributor", "identity.create_user", "tenancy.delete_distributor"]
    assert fake.calls[-1].call.args == (str(DISTRIBUTOR.id),)


def test_a_failed_undo_still_answers_identitys_refusal():
    taken = Conflict("a user with this email already exists")
    client, _ = http({("tenancy", "create_distributor"): DISTRIBUTOR.to_wire(),
                      ("identity", "create_user"): taken,
                      ("tenancy", "delete_distributor"): Conflict("has partners")})

    response = client.post("/api/v1/operator/distributors", headers=AUTH, json=BODY)

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "a user with this email already exists"


def test_only_operators_create_distributors_or_run_the_trial_clock():
    client, fake = http({}, tenant_kind="distributor")

    created = client.post("/api/v1/operator/distributors", headers=AUTH, json=BODY)
    clock = client.post("/api/v1/operator/jobs/trial-expiry", headers=AUTH, json={})

    assert (created.status_code, clock.status_code) == (403, 403)
    assert methods(fake) == []


def test_the_trial_clock_runs_as_of_the_given_moment():
    reply = {"as_of": "2026-06-15T12:00:00Z", "expired": 2, "auto_subscribed": 1}
    client, fake = http({("tenancy", "run_trial_expiry"): reply})

    response = client.post("/api/v1/operator/jobs/trial-expiry", headers=AUTH,
                           json={"as_of": "2026-06-15T12:00:00+00:00"})

    assert response.status_code == 200 and response.json()["expired"] == 2
    assert fake.calls[-1].call.args[0]["as_of"].startswith("2026-06-15T12:00:00")


def test_a_naive_as_of_is_422():
    client, _ = http({})

    response = client.post("/api/v1/operator/jobs/trial-expiry", headers=AUTH, json={"as_of": "2026-06-15T12:00:00"})

    assert response.status_code == 422


RUN = {"run_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "status": "success",
       "started_at": "2026-06-01T02:00:00Z", "finished_at": "2026-06-01T02:30:00Z", "size_bytes": 10, "seats": 2}


def engine_http(answers: dict) -> tuple[TestClient, FakeRpcClient]:
    identity = EngineIdentity(key_id=uuid.uuid4(), name="engine eu-1").to_wire()
    fake = FakeRpcClient({("identity", "check_engine_key"): identity, **answers})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def test_the_engine_reports_runs_with_its_key_as_the_caller():
    client, fake = engine_http({("tenancy", "ingest_backup_runs"): {"accepted": 1, "duplicates": 0, "rejected": []}})

    response = client.post("/api/v1/ingest/backup-runs", headers=AUTH, json=[RUN])

    assert response.status_code == 200 and response.json()["accepted"] == 1
    call = fake.calls[-1]
    assert call.call.args[0][0]["run_id"] == RUN["run_id"]
    assert call.context.caller.engine_key_id is not None and call.context.caller.user_id is None


def test_a_run_finishing_before_it_started_is_422_naming_the_item():
    client, fake = engine_http({})

    response = client.post("/api/v1/ingest/backup-runs", headers=AUTH,
                           json=[RUN, {**RUN, "finished_at": "2026-06-01T01:00:00Z"}])

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"].startswith("1")
    assert [c for c in fake.calls if c.call.service == "tenancy"] == []


def test_ingest_without_a_key_is_401():
    client, _ = engine_http({})

    assert client.post("/api/v1/ingest/backup-runs", json=[RUN]).status_code == 401


def test_the_runs_go_to_tenancy_as_the_engine_sent_them():
    client, fake = engine_http({("tenancy", "ingest_backup_runs"): {"accepted": 1, "duplicates": 0, "rejected": []}})
    sent = {**RUN, "started_at": "2026-06-01T04:00:00.000+02:00"}  # validated, not re-dumped

    assert client.post("/api/v1/ingest/backup-runs", headers=AUTH, json=[sent]).status_code == 200
    assert fake.calls[-1].call.args[0] == [sent]


@pytest.mark.parametrize("body", [b"", b"[{", b"{}", b"[1]"])
def test_a_body_that_is_no_list_of_runs_is_422_and_reaches_no_service(body):
    client, fake = engine_http({})

    response = client.post("/api/v1/ingest/backup-runs", headers={**AUTH, "content-type": "application/json"},
                           content=body)

    assert response.status_code == 422, response.text
    assert [c for c in fake.calls if c.call.service == "tenancy"] == []
