"""Drill-downs (a partner's accounts, the direct accounts) and billing status, composed from
tenancy and billing (fake RPC client, no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from contracts.errors import ServiceUnavailable
from contracts.identity import Principal, UserView
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

DISTRIBUTOR = uuid.uuid4()
PARTNER = uuid.uuid4()
ALPINE, BIRCH, CEDAR = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NAMES = {ALPINE: "Alpine Dental", BIRCH: "Birch Legal", CEDAR: "Cedar Farms"}
OWED = {ALPINE: ("45.00", "overdue"), BIRCH: ("0.00", "current"), CEDAR: ("120.00", "due")}
AUTH = {"Authorization": "Bearer " + "t" * 43}


def principal(kind: str = "distributor", role: str = "administrator", permissions: tuple[str, ...] = ()) -> dict:
    user = UserView(id=uuid.uuid4(), tenant_id=DISTRIBUTOR, tenant_kind=kind, email="a@example.com",
                    credential_type="password", role=role, permissions=list(permissions), accessible_accounts="all",
                    email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def account(id_: uuid.UUID) -> dict:
    owed, status = OWED[id_]
    return {"id": str(id_), "owner_id": str(PARTNER), "name": NAMES[id_], "email": None,
            "account_status": "monthly_subscribed", "backup_status": "successful", "plan": "monthly",
            "trial_ends_at": None, "size_bytes": 100, "seats": 3, "tasks": 1, "billing_status": status,
            "amount_due": owed, "currency": "USD"}


def account_page(query: dict) -> dict:
    """Tenancy: its filters (billing status included), name order, paging."""
    ids = [i for i in sorted(NAMES, key=NAMES.get) if query.get("billing_status") in (None, OWED[i][1])]
    size, page = query.get("page_size", 25), query.get("page", 1)
    rows = [account(i) for i in ids[(page - 1) * size:page * size]]
    return {"items": rows, "page": page, "page_size": size, "total": len(ids), "total_accounts": 3,
            "counters": {"trial": {"in_progress": 0, "expiring": 0, "expired": 0},
                         "backup": {"no_backup": 0, "successful": 3, "partially_failed": 0, "failed": 0}}}


def http(answers: dict | None = None, who: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): who or principal(),
                          ("tenancy", "list_accounts"): account_page, **(answers or {})})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def methods(fake: FakeRpcClient) -> list[str]:
    return [c.call.method for c in fake.calls if c.call.service != "identity"]


def sent(fake: FakeRpcClient, method: str) -> dict:
    return next(c for c in fake.calls if c.call.method == method).call.args[0]


DRILL_DOWN = f"/api/v1/partners/{PARTNER}/accounts"


# ---- drill-downs -------------------------------------------------------------------------------------------


def test_a_drill_down_is_one_call_to_tenancy_with_billing_status_and_amount_on_its_rows():
    client, fake = http()

    page = client.get(DRILL_DOWN, headers=AUTH).json()

    assert [(r["name"], r["billing_status"], r["amount"], r["currency"]) for r in page["items"]] == [
        ("Alpine Dental", "overdue", "45.00", "USD"), ("Birch Legal", "current", "0.00", "USD"),
        ("Cedar Farms", "due", "120.00", "USD")]
    assert "amount_due" not in page["items"][0]
    assert page["billing_available"] is True and methods(fake) == ["list_accounts"]


@pytest.mark.parametrize("params", [{"billing_status": "due"}, {"sort": "-amount", "page_size": 2},
                                    {"billing_status": "overdue", "sort": "amount", "search": "alp"}])
def test_billing_filters_and_the_amount_sort_go_to_tenancy_in_the_one_call(params):
    client, fake = http()

    assert client.get(DRILL_DOWN, params=params, headers=AUTH).status_code == 200

    assert methods(fake) == ["list_accounts"]
    assert sent(fake, "list_accounts") == {"partner_id": str(PARTNER), "sort": "name", "page": 1, "page_size": 25,
                                           **params}


def test_the_direct_accounts_name_the_operators_distributor_to_tenancy():
    client, fake = http(who=principal(kind="operator"))

    client.get("/api/v1/direct-accounts", params={"distributor_id": str(DISTRIBUTOR), "billing_status": "due"},
               headers=AUTH)

    assert sent(fake, "list_accounts")["distributor_id"] == str(DISTRIBUTOR)
    assert sent(fake, "list_accounts")["billing_status"] == "due"


def test_billing_being_away_changes_nothing_in_a_drill_down():
    down = ServiceUnavailable("billing did not answer", {"service": "billing"})
    client, fake = http({("billing", "billing_account_amounts"): down, ("billing", "billing_filter"): down})

    response = client.get(DRILL_DOWN, params={"billing_status": "due", "sort": "-amount"}, headers=AUTH)

    assert response.status_code == 200 and [r["name"] for r in response.json()["items"]] == ["Cedar Farms"]
    assert "billing" not in {c.call.service for c in fake.calls}


def test_without_tenancy_a_drill_down_is_a_clear_503():
    client, _ = http({("tenancy", "list_accounts"): ServiceUnavailable("tenancy did not answer",
                                                                       {"service": "tenancy"})})

    response = client.get(DRILL_DOWN, headers=AUTH)

    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"


def test_a_partner_user_sees_its_accounts_without_money_and_may_not_filter_by_billing():
    client, fake = http(who=principal(kind="partner"))

    page = client.get(DRILL_DOWN, headers=AUTH).json()
    refused = client.get(DRILL_DOWN, params={"billing_status": "due"}, headers=AUTH)

    assert len(page["items"]) == 3
    assert all(r["amount"] is None and r["billing_status"] is None and r["currency"] is None for r in page["items"])
    assert refused.status_code == 403
    assert methods(fake) == ["list_accounts"]


# ---- billing status with names ------------------------------------------------------------------------


def billing_row(id_: uuid.UUID, name: str, partner: uuid.UUID | None) -> dict:
    return {"account_id": str(id_), "account_name": name, "email": None,
            "partner_id": str(partner) if partner else None, "billing_status": "due", "subscription": "monthly",
            "renewal_date": None, "amount_due": "45.00", "currency": "USD", "next_payment_forecast": None}


STATUS_PAGE = {"items": [billing_row(ALPINE, "Alpine (old name)", PARTNER), billing_row(CEDAR, "Cedar Farms", None)],
               "page": 1, "page_size": 25, "total": 2}


def test_billing_status_rows_are_named_by_tenancy_in_one_call_for_the_page():
    names = {"items": [{"id": str(ALPINE), "kind": "account", "name": "Alpine Dental"},
                       {"id": str(PARTNER), "kind": "partner", "name": "Contoso IT"}]}
    client, fake = http({("billing", "billing_status"): STATUS_PAGE, ("tenancy", "tenant_names"): names})

    page = client.get("/api/v1/billing/status", headers=AUTH).json()

    assert [(r["account_name"], r["partner_name"]) for r in page["items"]] == [
        ("Alpine Dental", "Contoso IT"), ("Cedar Farms", None)]
    assert methods(fake) == ["billing_status", "tenant_names"]
    assert sorted(sent(fake, "tenant_names")["ids"]) == sorted(str(i) for i in (ALPINE, CEDAR, PARTNER))


def test_billing_status_without_tenancy_keeps_the_names_billing_knows():
    down = ServiceUnavailable("tenancy did not answer", {"service": "tenancy"})
    client, _ = http({("billing", "billing_status"): STATUS_PAGE, ("tenancy", "tenant_names"): down})

    response = client.get("/api/v1/billing/status", headers=AUTH)

    assert response.status_code == 200
    assert [r["account_name"] for r in response.json()["items"]] == ["Alpine (old name)", "Cedar Farms"]


def test_an_empty_billing_status_page_asks_tenancy_nothing():
    client, fake = http({("billing", "billing_status"): {"items": [], "page": 1, "page_size": 25, "total": 0}})

    assert client.get("/api/v1/billing/status", headers=AUTH).json()["total"] == 0
    assert methods(fake) == ["billing_status"]
