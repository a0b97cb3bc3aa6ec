"""The dashboard: one call to tenancy, which keeps billing's facts on its rows; the gateway
decides who sees money (fake RPC client, no broker)."""

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
PARTNERS = [uuid.uuid4(), uuid.uuid4()]
AUTH = {"Authorization": "Bearer " + "t" * 43}


def principal(kind: str = "distributor") -> dict:
    user = UserView(id=uuid.uuid4(), tenant_id=DISTRIBUTOR, tenant_kind=kind, email="a@example.com",
                    credential_type="password", role="administrator", permissions=[], accessible_accounts="all",
                    email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def row(id_: uuid.UUID, name: str, size: int = 10, owed: str = "12.50", status: str = "with_exceptions") -> dict:
    return {"id": str(id_), "name": name, "email": None, "partner_code": "P-AAAAAA", "size_bytes": size,
            "seats": 3, "accounts": 2, "task_status": "successful", "amount_owed": owed, "currency": "USD",
            "billing_status": status}


def partner_page(query: dict) -> dict:
    rows = [row(p, f"Partner {i}") for i, p in enumerate(PARTNERS)]
    return {"items": rows, "page": query.get("page", 1), "page_size": query.get("page_size", 25),
            "total": len(rows), "total_partners": 2,
            "direct": row(DISTRIBUTOR, "Direct Accounts", 5, "0.00", "on_track")}


def client(answers: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): principal(), ("tenancy", "list_partners"): partner_page,
                          **(answers or {})})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def service_calls(fake: FakeRpcClient) -> list[str]:
    return [f"{c.call.service}.{c.call.method}" for c in fake.calls if c.call.service != "identity"]


def sent(fake: FakeRpcClient) -> dict:
    return next(c for c in fake.calls if c.call.method == "list_partners").call.args[0]


def test_a_page_is_one_call_to_tenancy_with_billings_columns_from_its_rows():
    http, fake = client()

    page = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Partner 0", "Partner 1"]
    assert (page["items"][0]["amount"], page["items"][0]["billing_status"]) == ("12.50", "with_exceptions")
    assert page["direct_accounts"]["direct"] is True and page["direct_accounts"]["currency"] == "USD"
    assert (page["total"], page["total_partners"], page["billing_available"]) == (2, 2, True)
    assert service_calls(fake) == ["tenancy.list_partners"]


@pytest.mark.parametrize("params", [
    {"search": "contoso", "task_status": "failures", "page": 2, "page_size": 10, "sort": "-size"},
    {"billing_status": "with_exceptions", "sort": "-amount"},
    {"billing_status": "on_track", "sort": "amount", "page": 3},
])
def test_every_filter_and_sort_goes_to_tenancy_in_the_one_call(params):
    http, fake = client()

    assert http.get("/api/v1/dashboard", params=params, headers=AUTH).status_code == 200

    assert service_calls(fake) == ["tenancy.list_partners"]
    assert sent(fake) == {"sort": "name", "page": 1, "page_size": 25, **params}


def test_billing_being_away_changes_nothing_the_page_keeps_its_announced_amounts():
    down = ServiceUnavailable("billing did not answer", {"service": "billing"})
    http, fake = client({("billing", "billing_rollups"): down, ("billing", "billing_filter"): down})

    page = http.get("/api/v1/dashboard", params={"billing_status": "with_exceptions", "sort": "-amount"},
                    headers=AUTH)

    assert page.status_code == 200
    assert page.json()["items"][0]["amount"] == "12.50" and page.json()["billing_available"] is True
    assert "billing" not in {c.call.service for c in fake.calls}


def test_without_tenancy_the_dashboard_is_a_clear_503():
    http, _ = client({("tenancy", "list_partners"): ServiceUnavailable("tenancy did not answer",
                                                                       {"service": "tenancy"})})

    response = http.get("/api/v1/dashboard", headers=AUTH)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_partner_user_gets_no_money_columns():
    http, _ = client({("identity", "check_session"): principal(kind="partner")})

    page = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert all(r["amount"] is None and r["billing_status"] is None and r["currency"] is None
               for r in [*page["items"], page["direct_accounts"]])
    assert page["billing_available"] is False


def test_a_partner_user_may_not_filter_or_sort_by_billing():
    http, fake = client({("identity", "check_session"): principal(kind="partner")})

    filtered = http.get("/api/v1/dashboard", params={"billing_status": "on_track"}, headers=AUTH)
    sorted_ = http.get("/api/v1/dashboard", params={"sort": "amount"}, headers=AUTH)

    assert (filtered.status_code, sorted_.status_code) == (403, 403)
    assert "billing_status" in filtered.json()["error"]["message"] and "sort" in sorted_.json()["error"]["message"]
    assert service_calls(fake) == []


def test_a_distributor_user_without_view_billing_gets_no_money():
    custom = principal()
    custom["user"] |= {"role": "custom", "permissions": ["view_dashboard"]}
    http, _ = client({("identity", "check_session"): custom})

    page = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert page["billing_available"] is False and page["items"][0]["amount"] is None


def test_an_operator_names_the_distributor_and_then_sees_its_money():
    http, fake = client({("identity", "check_session"): principal(kind="operator")})
    chosen = uuid.uuid4()

    named = http.get("/api/v1/dashboard", params={"sort": "-amount", "distributor_id": str(chosen)},
                     headers=AUTH).json()
    unnamed = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert named["billing_available"] is True and sent(fake)["distributor_id"] == str(chosen)
    assert unnamed["billing_available"] is False and unnamed["items"][0]["amount"] is None
