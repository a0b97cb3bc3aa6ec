"""Partner, account and settings routes over a fake tenancy: paths, permissions, wire shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.identity import Principal, UserView
from contracts.tenancy import (
    AccountCounters,
    AccountPage,
    AccountView,
    BackupCounters,
    BackupTaskView,
    TenantProfile,
    TrialCounters,
)
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

AUTH = {"Authorization": "Bearer " + "t" * 43}
T0 = datetime(2026, 6, 1, tzinfo=UTC)
TENANT = uuid.uuid4()
PARTNER = TenantProfile(id=uuid.uuid4(), kind="partner", parent_id=TENANT, name="Contoso", email="msp@contoso.example",
                        partner_code="P-7K2M9Q", country="US", data_center="us-east-1",
                        data_center_label="US East (N. Virginia)", created_at=T0)
ACCOUNT = AccountView(id=uuid.uuid4(), owner_id=PARTNER.id, owner_kind="partner", partner_id=PARTNER.id, name="Coho",
                      email="it@coho.example", account_status="trial_started", backup_status="no_backup",
                      subscription="trial_expiring", trial_started_at=T0, size_bytes=0, seats=0, created_at=T0)
PAGE = AccountPage(items=[], page=2, page_size=10, total=0, total_accounts=7, counters=AccountCounters(
    trial=TrialCounters(in_progress=1), backup=BackupCounters(no_backup=7)))


def principal(role: str = "administrator", permissions: tuple[str, ...] = (), accessible="all") -> dict:
    user = UserView(
        id=uuid.uuid4(), tenant_id=TENANT, tenant_kind="distributor", email="u@example.com",
        credential_type="password", role=role, permissions=list(permissions), accessible_accounts=accessible,
        email_confirmed=True, two_factor_enabled=False, created_at=T0,
    )
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def http(answers: dict, who: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): who or principal(), **answers})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def tenancy_calls(fake: FakeRpcClient) -> list:
    return [c for c in fake.calls if c.call.service == "tenancy"]


def test_adding_a_partner_answers_201_with_its_profile():
    client, fake = http({("tenancy", "create_partner"): PARTNER.to_wire()})

    response = client.post("/api/v1/partners", headers=AUTH, json={
        "name": "Contoso", "email": "msp@contoso.example", "country": "us", "data_center": "us-east-1"})

    assert response.status_code == 201, response.text
    assert response.json()["partner_code"] == "P-7K2M9Q"
    sent = tenancy_calls(fake)[0].call.args[0]
    assert sent["country"] == "US" and sent["email"] == "msp@contoso.example"


def test_a_duplicate_partner_email_is_409_naming_email():
    client, _ = http({("tenancy", "create_partner"): Conflict(
        "email is already in use", {"fields": [{"field": "email", "reason": "already in use"}]})})

    response = client.post("/api/v1/partners", headers=AUTH, json={
        "name": "Contoso", "email": "msp@contoso.example", "country": "US", "data_center": "us-east-1"})

    assert response.status_code == 409
    assert response.json()["error"]["details"]["fields"][0]["field"] == "email"


def test_a_partner_with_an_unknown_data_center_or_country_is_422_naming_them():
    client, fake = http({})

    response = client.post("/api/v1/partners", headers=AUTH, json={
        "name": "Contoso", "email": "msp@contoso.example", "country": "XX", "data_center": "mars-1"})

    assert response.status_code == 422
    assert {f["field"] for f in response.json()["error"]["details"]["fields"]} == {"country", "data_center"}
    assert tenancy_calls(fake) == []


def test_adding_partners_or_accounts_needs_add_accounts():
    client, fake = http({}, principal("custom", ("view_dashboard",)))

    partner = client.post("/api/v1/partners", headers=AUTH, json={
        "name": "C", "email": "c@c.example", "country": "US", "data_center": "us-east-1"})
    account = client.post("/api/v1/accounts", headers=AUTH, json={"name": "A", "email": "a@a.example"})

    assert (partner.status_code, account.status_code) == (403, 403)
    assert tenancy_calls(fake) == []


def test_patching_a_partner_sends_only_the_given_fields():
    client, fake = http({("tenancy", "update_partner"): PARTNER.to_wire()})

    response = client.patch(f"/api/v1/partners/{PARTNER.id}", headers=AUTH, json={"contact_name": None})

    assert response.status_code == 200
    assert tenancy_calls(fake)[0].call.args == (str(PARTNER.id), {"contact_name": None})


def test_a_partners_accounts_list_passes_filters_and_paging_to_tenancy():
    client, fake = http({("tenancy", "list_accounts"): PAGE.to_wire()})

    response = client.get(f"/api/v1/partners/{PARTNER.id}/accounts", headers=AUTH, params={
        "search": "coho", "account_status": "trial_expiring", "backup_status": "failed", "page": 2,
        "page_size": 10})

    assert response.status_code == 200
    body = response.json()
    assert (body["total_accounts"], body["page"], body["counters"]["trial"]["in_progress"]) == (7, 2, 1)
    assert tenancy_calls(fake)[0].call.args[0] == {
        "partner_id": str(PARTNER.id), "search": "coho", "account_status": "trial_expiring",
        "backup_status": "failed", "sort": "name", "page": 2, "page_size": 10}


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 201}, {"account_status": "sleeping"}])
def test_a_bad_list_parameter_is_422(params):
    client, fake = http({})

    response = client.get("/api/v1/direct-accounts", headers=AUTH, params=params)

    assert response.status_code == 422
    assert tenancy_calls(fake) == []


@pytest.mark.parametrize("status_param", ["status", "account_status"])
def test_the_account_picker_takes_search_and_status_under_either_name(status_param):
    client, fake = http({("tenancy", "search_accounts"): {"items": [], "page": 1, "page_size": 25, "total": 0}})

    response = client.get("/api/v1/accounts", headers=AUTH, params={"search": "north", status_param: "trial_started"})

    assert response.status_code == 200
    assert tenancy_calls(fake)[0].call.args[0] == {
        "search": "north", "account_status": "trial_started", "page": 1, "page_size": 25}


def test_the_account_picker_refuses_two_different_statuses_naming_status():
    client, fake = http({})

    response = client.get("/api/v1/accounts", headers=AUTH, params={"status": "trial_started",
                                                                     "account_status": "removed"})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"] == [
        {"field": "status", "reason": "differs from account_status; give one of them"}]
    assert tenancy_calls(fake) == []


def test_direct_accounts_default_to_the_callers_distributor():
    client, fake = http({("tenancy", "list_accounts"): PAGE.to_wire()})

    response = client.get("/api/v1/direct-accounts", headers=AUTH)

    assert response.status_code == 200
    assert tenancy_calls(fake)[0].call.args[0] == {"sort": "name", "page": 1, "page_size": 25}


def test_lists_need_view_dashboard():
    client, _ = http({}, principal("custom", ("add_accounts",)))

    assert client.get("/api/v1/direct-accounts", headers=AUTH).status_code == 403


def test_another_partners_account_is_404():
    client, _ = http({("tenancy", "get_account"): NotFound("account not found")})

    response = client.get(f"/api/v1/accounts/{uuid.uuid4()}", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_callers_accessible_accounts_travel_to_tenancy():
    seen = uuid.uuid4()
    client, fake = http({("tenancy", "get_account"): ACCOUNT.to_wire()},
                        principal("custom", ("view_dashboard",), accessible=[str(seen)]))

    client.get(f"/api/v1/accounts/{ACCOUNT.id}", headers=AUTH)

    caller = tenancy_calls(fake)[0].context.caller
    assert caller.accessible_accounts == [seen] and caller.tenant_id == TENANT


def test_deleting_a_subscribed_account_is_409_and_a_trial_204():
    client, _ = http({("tenancy", "delete_trial"): Conflict("only a trial can be deleted")})
    refused = client.delete(f"/api/v1/accounts/{ACCOUNT.id}", headers=AUTH)
    client, _ = http({("tenancy", "delete_trial"): None})
    deleted = client.delete(f"/api/v1/accounts/{ACCOUNT.id}", headers=AUTH)

    assert (refused.status_code, deleted.status_code) == (409, 204)


def test_removal_without_approval_is_422_from_tenancy():
    refusal = ValidationFailed.for_field("approve_data_removal", "must be true")
    client, fake = http({("tenancy", "remove_account"): refusal})

    response = client.post(f"/api/v1/accounts/{ACCOUNT.id}/remove", headers=AUTH, json={})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "approve_data_removal"
    assert tenancy_calls(fake)[0].call.args == (str(ACCOUNT.id), {"approve_data_removal": False})


def test_subscribe_trials_needs_subscribe_accounts_and_answers_the_count():
    client, _ = http({}, principal("custom", ("add_accounts", "view_dashboard")))
    refused = client.post("/api/v1/accounts/subscribe-trials", headers=AUTH, json={"plan": "monthly", "scope": "all"})
    client, _ = http({("tenancy", "subscribe_trials"): {"changed": 3}}, principal("custom", ("subscribe_accounts",)))
    done = client.post("/api/v1/accounts/subscribe-trials", headers=AUTH, json={"plan": "annual", "scope": "all"})

    assert refused.status_code == 403
    assert done.status_code == 200 and done.json() == {"changed": 3}


def test_subscribe_trials_must_name_its_scope_and_a_plan_alone_is_422_naming_scope():
    client, fake = http({("tenancy", "subscribe_trials"): {"changed": 3}})

    bare = client.post("/api/v1/accounts/subscribe-trials", headers=AUTH, json={"plan": "monthly"})
    mismatched = client.post("/api/v1/accounts/subscribe-trials", headers=AUTH,
                             json={"plan": "monthly", "scope": "direct", "partner_id": str(uuid.uuid4())})
    direct = client.post("/api/v1/accounts/subscribe-trials", headers=AUTH, json={"plan": "monthly", "scope": "direct"})

    assert bare.status_code == 422 and bare.json()["error"]["code"] == "validation_failed"
    assert [f["field"] for f in bare.json()["error"]["details"]["fields"]] == ["scope"]
    assert mismatched.status_code == 422
    assert [f["field"] for f in mismatched.json()["error"]["details"]["fields"]] == ["partner_id"]
    assert direct.status_code == 200
    assert [c.call.args for c in tenancy_calls(fake)] == [({"plan": "monthly", "scope": "direct", "partner_id": None,
                                                            "distributor_id": None, "account_ids": None},)]


def test_backup_tasks_are_added_and_activated_by_path():
    task = BackupTaskView(id=uuid.uuid4(), account_id=ACCOUNT.id, service="exchange", name="Mail", state="active",
                          created_at=T0)
    client, fake = http({("tenancy", "add_backup_task"): task.to_wire(),
                         ("tenancy", "activate_backup_task"): task.to_wire()})

    added = client.post(f"/api/v1/accounts/{ACCOUNT.id}/backup-tasks", headers=AUTH,
                        json={"service": "exchange", "name": "Mail"})
    activated = client.post(f"/api/v1/accounts/{ACCOUNT.id}/backup-tasks/{task.id}/activate", headers=AUTH)

    assert (added.status_code, activated.status_code) == (201, 200)
    assert tenancy_calls(fake)[1].call.args == (str(ACCOUNT.id), str(task.id))


def test_an_unknown_backup_service_is_422():
    client, _ = http({})

    response = client.post(f"/api/v1/accounts/{ACCOUNT.id}/backup-tasks", headers=AUTH,
                           json={"service": "myspace", "name": "Mail"})

    assert response.status_code == 422


def test_account_settings_are_read_with_view_settings_and_changed_by_administrators():
    client, fake = http({("tenancy", "get_account_settings"): PARTNER.to_wire()}, principal("custom", ("view_settings",)))
    read = client.get("/api/v1/settings/account", headers=AUTH)
    refused = client.put("/api/v1/settings/account", headers=AUTH, json={"phone": "+1 555 0100"})
    client, fake = http({("tenancy", "update_account_settings"): PARTNER.to_wire()})
    changed = client.put("/api/v1/settings/account", headers=AUTH, json={"phone": "+1 555 0100"})

    assert (read.status_code, refused.status_code, changed.status_code) == (200, 403, 200)
    assert tenancy_calls(fake)[0].call.args == ({"phone": "+1 555 0100"},)
