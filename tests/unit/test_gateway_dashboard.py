"""The dashboard composed from tenancy and billing (fake RPC client, no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from contracts.errors import ServiceUnavailable
from contracts.identity import Principal, UserView
from gateway.app import create_app
from gateway.testing import FakeRpcClient

DISTRIBUTOR = uuid.uuid4()
PARTNERS = [uuid.uuid4(), uuid.uuid4()]
AUTH = {"Authorization": "Bearer " + "t" * 43}


def principal(kind: str = "distributor") -> dict:
    user = UserView(id=uuid.uuid4(), tenant_id=DISTRIBUTOR, tenant_kind=kind, email="a@example.com",
                    credential_type="password", role="administrator", permissions=[], accessible_accounts="all",
                    email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def row(id_: uuid.UUID, name: str, size: int = 10) -> dict:
    return {"id": str(id_), "name": name, "email": None, "partner_code": "P-AAAAAA", "size_bytes": size,
            "seats": 3, "accounts": 2, "task_status": "successful"}


def partner_page(query: dict) -> dict:
    rows = [row(p, f"Partner {i}") for i, p in enumerate(PARTNERS)]
    if "ids" in query:
        rows = [r for r in rows if r["id"] in query["ids"]]
    return {"items": rows, "page": 1, "page_size": 25, "total": len(rows), "total_partners": 2,
            "direct": row(DISTRIBUTOR, "Direct Accounts", 5)}


def rollups(query: dict) -> dict:
    return {"items": [{"owner_id": owner, "direct": owner == str(DISTRIBUTOR), "amount_owed": "12.50",
                       "currency": "USD", "billing_status": "on_track", "label": "All bills on track"}
                      for owner in query["owner_ids"]]}


def client(answers: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): principal(), ("tenancy", "list_partners"): partner_page,
                          ("billing", "billing_rollups"): rollups, **(answers or {})})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def test_rows_carry_tenancys_columns_and_billings_amounts():
    http, _ = client()

    page = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Partner 0", "Partner 1"]
    assert page["items"][0]["amount"] == "12.50" and page["items"][0]["billing_status"] == "on_track"
    assert page["direct_accounts"]["direct"] is True and page["direct_accounts"]["currency"] == "USD"
    assert (page["total"], page["total_partners"], page["billing_available"]) == (2, 2, True)


def test_a_billing_status_filter_is_applied_by_billing_then_paged_by_tenancy():
    http, fake = client({("billing", "billing_filter"): {"ids": [str(PARTNERS[1])], "includes_direct": False}})

    page = http.get("/api/v1/dashboard", params={"billing_status": "with_exceptions"}, headers=AUTH).json()

    assert [r["id"] for r in page["items"]] == [str(PARTNERS[1])]
    assert page["direct_accounts"] is None and page["total"] == 1
    methods = [c.call.method for c in fake.calls]
    assert methods.index("billing_filter") < methods.index("list_partners")
    listed = next(c for c in fake.calls if c.call.method == "list_partners").call.args[0]
    assert listed["ids"] == [str(PARTNERS[1])]


def test_search_and_task_status_go_to_tenancy_with_the_paging():
    http, fake = client()

    http.get("/api/v1/dashboard", params={"search": "contoso", "task_status": "failures", "page": 2,
                                          "page_size": 10, "sort": "-size"}, headers=AUTH)

    listed = next(c for c in fake.calls if c.call.method == "list_partners").call.args[0]
    assert listed == {"search": "contoso", "task_status": "failures", "sort": "-size", "page": 2, "page_size": 10}


def test_without_billing_the_page_still_answers_with_billing_columns_blank():
    http, _ = client({("billing", "billing_rollups"): ServiceUnavailable("billing did not answer")})

    response = http.get("/api/v1/dashboard", headers=AUTH)

    assert response.status_code == 200
    page = response.json()
    assert page["billing_available"] is False
    assert page["items"][0]["amount"] is None and page["items"][0]["size_bytes"] == 10


def test_without_tenancy_the_dashboard_is_a_clear_503():
    http, _ = client({("tenancy", "list_partners"): ServiceUnavailable("tenancy did not answer",
                                                                       {"service": "tenancy"})})

    response = http.get("/api/v1/dashboard", headers=AUTH)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_partner_user_gets_no_money_columns_and_billing_is_not_asked():
    http, fake = client({("identity", "check_session"): principal(kind="partner")})

    page = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert all(r["amount"] is None for r in page["items"])
    assert not [c for c in fake.calls if c.call.service == "billing"]
