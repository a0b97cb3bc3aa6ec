"""Whose user is it, and whose email: a user is made in a tenant the request names (within
the caller's scope), and a partner or customer account is never made with the email of an
existing user (its first administrator could not be invited). HTTP through the gateway."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.identity_client import Client, Mailbox, error_code, new_distributor_admin, signed_in
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.e2e

STRONG = "a harbour light at the end of the pier"


@pytest.fixture(scope="module")
def distributor(suite) -> Client:
    return signed_in(suite.base_url, new_distributor_admin(suite, "Litware", "litware-tenants.example", STRONG),
                     STRONG)


@pytest.fixture(scope="module")
def other_distributor(suite) -> Client:
    return signed_in(suite.base_url, new_distributor_admin(suite, "Adatum", "adatum-tenants.example", STRONG),
                     STRONG)


@pytest.fixture(scope="module")
def mail(suite) -> Mailbox:
    return Mailbox(suite.var_dir)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def new_account(client: Client, **fields: Any) -> dict[str, Any]:
    mark = tag()
    created = client.post("/api/v1/accounts", json={"name": f"Fourth Coffee {mark}",
                                                    "email": f"it-{mark}@fourth-coffee.example", **fields})
    assert created.status_code == 201, created.text
    return dict(created.json())


def new_partner(client: Client) -> dict[str, Any]:
    mark = tag()
    created = client.post("/api/v1/partners", json={"name": f"Proseware {mark}", "email": f"msp-{mark}@proseware.example",
                                                    "country": "US", "data_center": "us-east-1"})
    assert created.status_code == 201, created.text
    return dict(created.json())


def field_of(response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["details"].get("fields", [])]


def audit_descriptions(client: Client, **params: Any) -> list[str]:
    response = client.get("/api/v1/audit", params={"page_size": 200, **params})
    assert response.status_code == 200, response.text
    return [entry["description"] for entry in response.json()["items"]]


# ---- item: a user for a customer account ------------------------------------------------------------


def test_a_user_made_for_a_customer_account_belongs_to_that_account_and_says_so(suite, distributor, mail):
    account = new_account(distributor)
    email = f"clerk-{tag()}@fourth-coffee.example"

    created = distributor.post("/api/v1/users", json={
        "email": email, "tenant_id": account["id"], "role": "custom",
        "permissions": ["view_dashboard", "account_view_settings"]})

    assert created.status_code == 201, created.text
    assert (created.json()["tenant_id"], created.json()["tenant_kind"]) == (account["id"], "account")
    token = mail.new_confirmation_token(email, timeout=30)
    user = Client(suite.base_url)
    assert user.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG}).status_code == 204
    assert user.sign_in(email, STRONG).status_code == 200
    assert user.get(f"/api/v1/accounts/{account['id']}").status_code == 200
    sibling = new_account(distributor)
    assert user.get(f"/api/v1/accounts/{sibling['id']}").status_code == 404  # not every account
    wanted = f"User created: {email} (Custom) in customer account {account['name']}"
    wait_for(lambda: wanted in audit_descriptions(distributor, activity="user_management"), timeout=20,
             message="the audit entry naming the account")


def test_a_user_for_a_partner_joins_the_partner(distributor):
    partner = new_partner(distributor)

    created = distributor.post("/api/v1/users", json={"email": f"tech-{tag()}@proseware.example",
                                                      "tenant_id": partner["id"], "role": "administrator"})

    assert created.status_code == 201, created.text
    assert (created.json()["tenant_id"], created.json()["tenant_kind"]) == (partner["id"], "partner")


def test_a_user_without_a_tenant_joins_the_callers_own_tenant_and_the_answer_says_which(distributor):
    me = distributor.get("/api/v1/me").json()
    email = f"staff-{tag()}@litware-tenants.example"

    created = distributor.post("/api/v1/users", json={"email": email, "role": "custom",
                                                      "permissions": ["view_dashboard"]})

    assert created.status_code == 201, created.text
    assert (created.json()["tenant_id"], created.json()["tenant_kind"]) == (me["tenant_id"], "distributor")
    wanted = f"User created: {email} (Custom) in distributor "
    wait_for(lambda: any(d.startswith(wanted) for d in audit_descriptions(distributor, activity="user_management")),
             timeout=20, message="the audit entry naming the distributor")


def test_a_tenant_outside_the_callers_scope_is_not_found_naming_tenant_id(suite, distributor, other_distributor,
                                                                          mail):
    foreign = new_account(other_distributor)
    outside = (foreign["id"], str(uuid.uuid4()), other_distributor.get("/api/v1/me").json()["tenant_id"])

    for tenant_id in outside:
        refused = distributor.post("/api/v1/users", json={"email": f"x-{tag()}@litware-tenants.example",
                                                          "tenant_id": tenant_id})
        assert refused.status_code == 404, refused.text
        assert field_of(refused) == ["tenant_id"], refused.text

    # Upwards is outside the scope too: a partner makes no user in its distributor.
    partner = new_partner(distributor)
    partner_admin = Client(suite.base_url)
    token = mail.new_confirmation_token(partner["email"], timeout=30)
    assert partner_admin.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG}).status_code == 204
    assert partner_admin.sign_in(partner["email"], STRONG).status_code == 200
    upwards = partner_admin.post("/api/v1/users", json={"email": f"x-{tag()}@proseware.example",
                                                        "tenant_id": distributor.get("/api/v1/me").json()["tenant_id"]})
    assert upwards.status_code == 404, upwards.text
    assert field_of(upwards) == ["tenant_id"]


def test_permissions_that_do_not_exist_for_the_tenant_kind_are_refused(distributor):
    account = new_account(distributor)
    partner = new_partner(distributor)
    refusals = [
        (account["id"], ["view_dashboard", "view_billing"]),
        (account["id"], ["view_dashboard", "add_accounts"]),
        (partner["id"], ["view_dashboard", "view_billing_notifications"]),
    ]
    for tenant_id, permissions in refusals:
        refused = distributor.post("/api/v1/users", json={"email": f"y-{tag()}@litware-tenants.example",
                                                          "tenant_id": tenant_id, "role": "custom",
                                                          "permissions": permissions})
        assert refused.status_code == 422, refused.text
        assert field_of(refused) == ["permissions"], refused.text


# ---- item: a partner's email and a user's email ----------------------------------------------------------


def existing_user(client: Client) -> str:
    email = f"Owner-{tag()}@Litware-Tenants.example"
    created = client.post("/api/v1/users", json={"email": email, "role": "custom",
                                                 "permissions": ["view_dashboard"]})
    assert created.status_code == 201, created.text
    return email


@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda email: email])
def test_a_partner_with_an_existing_users_email_is_refused_and_nothing_is_made(distributor, spelling):
    email = spelling(existing_user(distributor))
    name = f"Half Made {tag()}"

    refused = distributor.post("/api/v1/partners", json={"name": name, "email": email, "country": "US",
                                                         "data_center": "us-east-1"})

    assert refused.status_code == 409, refused.text
    assert error_code(refused) == "conflict" and field_of(refused) == ["email"]
    partners = distributor.get("/api/v1/dashboard", params={"search": name}).json()
    assert [row for row in partners["items"] if row.get("name") == name] == []
    assert not [d for d in audit_descriptions(distributor, activity="account_created") if name in d]


@pytest.mark.parametrize("spelling", [str.lower, str.upper])
def test_an_account_with_an_existing_users_email_is_refused_and_nothing_is_made(distributor, spelling):
    email = spelling(existing_user(distributor))
    name = f"Half Made Account {tag()}"

    refused = distributor.post("/api/v1/accounts", json={"name": name, "email": email})

    assert refused.status_code == 409, refused.text
    assert error_code(refused) == "conflict" and field_of(refused) == ["email"]
    accounts = distributor.get("/api/v1/direct-accounts", params={"search": name}).json()
    assert accounts["items"] == []
    assert not [d for d in audit_descriptions(distributor, activity="account_created") if name in d]
