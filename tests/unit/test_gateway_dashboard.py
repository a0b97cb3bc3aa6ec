"""The dashboard composed from tenancy and billing (fake RPC client, no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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


# ---- sorted by amount: tenancy names the candidates, billing orders and pages, tenancy answers the rows ---------

THIRD = uuid.uuid4()
EVERY = [*PARTNERS, THIRD]
OWED = {PARTNERS[0]: "5.00", PARTNERS[1]: "0.00", THIRD: "99.00"}


def candidate_ids(query: dict) -> dict:
    return {"ids": [str(p) for p in EVERY], "total": len(EVERY)}


def named_rows(query: dict) -> dict:
    """Tenancy answers the asked-for partners in its own (name) order."""
    names = {PARTNERS[0]: "Alpha", PARTNERS[1]: "Bravo", THIRD: "Charlie"}
    rows = [row(p, names[p]) for p in EVERY if str(p) in query["ids"]]
    return {"items": rows, "page": 1, "page_size": query["page_size"], "total": len(rows), "total_partners": 3,
            "direct": row(DISTRIBUTOR, "Direct Accounts", 5)}


def rollup(owner, amount="0.00", status="on_track", direct=False) -> dict:
    return {"owner_id": str(owner), "direct": direct, "amount_owed": amount, "currency": "USD",
            "billing_status": status, "label": "All bills on track"}


def owner_page(request: dict) -> dict:
    ordered = sorted(request["ids"], key=lambda i: -float(OWED[uuid.UUID(i)]))
    size, start = request["page_size"], (request["page"] - 1) * request["page_size"]
    return {"items": [rollup(i, OWED[uuid.UUID(i)]) for i in ordered[start:start + size]],
            "direct": rollup(DISTRIBUTOR, "1.00", direct=True), "page": request["page"], "page_size": size,
            "total": len(ordered)}


def by_amount_client(answers: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    return client({("tenancy", "partner_ids"): candidate_ids, ("tenancy", "list_partners"): named_rows,
                   ("billing", "billing_owner_page"): owner_page, **(answers or {})})


def sent(fake: FakeRpcClient, method: str) -> dict:
    return next(c for c in fake.calls if c.call.method == method).call.args[0]


def test_an_amount_sort_is_ordered_and_paged_by_billing_over_tenancys_candidates():
    http, fake = by_amount_client()

    page = http.get("/api/v1/dashboard", params={"sort": "-amount", "page_size": 2}, headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Charlie", "Alpha"]  # billing's order, not tenancy's
    assert [r["amount"] for r in page["items"]] == ["99.00", "5.00"]
    assert (page["total"], page["total_partners"], page["page_size"], page["sort"]) == (3, 3, 2, "-amount")
    assert page["direct_accounts"]["amount"] == "1.00" and page["billing_available"] is True
    assert [c.call.method for c in fake.calls if c.call.service != "identity"] == [
        "partner_ids", "billing_owner_page", "list_partners"]
    asked = sent(fake, "billing_owner_page")
    assert sorted(asked["ids"]) == sorted(str(p) for p in EVERY)
    assert (asked["sort"], asked["page"], asked["page_size"]) == ("-amount", 1, 2)
    assert sent(fake, "list_partners")["ids"] == [str(THIRD), str(PARTNERS[0])]


def test_the_second_page_by_amount_carries_the_rest_and_the_same_total():
    http, _ = by_amount_client()

    page = http.get("/api/v1/dashboard", params={"sort": "-amount", "page_size": 2, "page": 2}, headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Bravo"]
    assert (page["page"], page["total"]) == (2, 3)


def test_search_and_task_status_narrow_the_candidates_in_tenancy_before_billing_orders_them():
    http, fake = by_amount_client()

    http.get("/api/v1/dashboard", params={"sort": "amount", "search": "contoso", "task_status": "failures"},
             headers=AUTH)

    assert sent(fake, "partner_ids") == {"search": "contoso", "task_status": "failures"}
    assert sent(fake, "billing_owner_page")["sort"] == "amount"


def test_by_amount_the_direct_accounts_row_follows_the_search_and_task_status_too():
    def rows_then_direct_if_it_matches(query: dict) -> dict:
        # Tenancy decides the Direct Accounts row by the search and task status it is sent.
        page = named_rows(query)
        return {**page, "direct": page["direct"] if "search" not in query and "task_status" not in query else None}

    http, fake = by_amount_client({("tenancy", "list_partners"): rows_then_direct_if_it_matches})

    searched = http.get("/api/v1/dashboard", params={"sort": "-amount", "search": "alpha", "task_status": "failures"},
                        headers=AUTH).json()

    assert searched["direct_accounts"] is None
    assert {k: v for k, v in sent(fake, "list_partners").items() if k in ("search", "task_status")} == {
        "search": "alpha", "task_status": "failures"}

def test_an_amount_sort_with_a_billing_status_filter_is_one_request_to_billing():
    def matching(request: dict) -> dict:
        assert request["owner_status"] == "with_exceptions"
        return {"items": [rollup(THIRD, "99.00", "with_exceptions")], "direct": None, "page": 1, "page_size": 25,
                "total": 1}

    http, fake = by_amount_client({("billing", "billing_owner_page"): matching})

    page = http.get("/api/v1/dashboard", params={"sort": "-amount", "billing_status": "with_exceptions"},
                    headers=AUTH).json()

    assert [r["id"] for r in page["items"]] == [str(THIRD)] and page["total"] == 1
    assert page["direct_accounts"] is None  # the Direct Accounts row does not match
    assert not [c for c in fake.calls if c.call.method == "billing_filter"]


def test_without_billing_an_amount_sort_answers_in_name_order_without_billing_columns():
    http, fake = by_amount_client({("billing", "billing_owner_page"): ServiceUnavailable("billing did not answer"),
                                   ("billing", "billing_rollups"): ServiceUnavailable("billing did not answer"),
                                   ("tenancy", "list_partners"): partner_page})

    response = http.get("/api/v1/dashboard", params={"sort": "-amount"}, headers=AUTH)

    assert response.status_code == 200
    page = response.json()
    assert (page["sort"], page["billing_available"]) == ("name", False)
    assert [r["name"] for r in page["items"]] == ["Partner 0", "Partner 1"]
    assert all(r["amount"] is None for r in page["items"])
    assert sent(fake, "list_partners")["sort"] == "name"


def test_without_billing_a_billing_status_filter_is_a_503_not_an_unfiltered_page():
    http, _ = client({("billing", "billing_filter"): ServiceUnavailable("billing did not answer",
                                                                       {"service": "billing"})})

    response = http.get("/api/v1/dashboard", params={"billing_status": "on_track"}, headers=AUTH)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_partner_user_may_not_filter_or_sort_by_billing():
    http, fake = client({("identity", "check_session"): principal(kind="partner")})

    filtered = http.get("/api/v1/dashboard", params={"billing_status": "on_track"}, headers=AUTH)
    sorted_ = http.get("/api/v1/dashboard", params={"sort": "amount"}, headers=AUTH)

    assert (filtered.status_code, sorted_.status_code) == (403, 403)
    assert "billing_status" in filtered.json()["error"]["message"] and "sort" in sorted_.json()["error"]["message"]
    assert not [c for c in fake.calls if c.call.service in ("billing", "tenancy")]


def test_a_distributor_user_without_view_billing_gets_no_money_and_billing_is_not_asked():
    custom = principal()
    custom["user"] |= {"role": "custom", "permissions": ["view_dashboard"]}
    http, fake = client({("identity", "check_session"): custom})

    page = http.get("/api/v1/dashboard", headers=AUTH).json()

    assert page["billing_available"] is False and page["items"][0]["amount"] is None
    assert not [c for c in fake.calls if c.call.service == "billing"]


def test_more_candidates_than_billing_orders_is_a_422_naming_sort():
    many = {"ids": [str(uuid.uuid4()) for _ in range(10_001)], "total": 10_001}
    http, fake = by_amount_client({("tenancy", "partner_ids"): many})

    response = http.get("/api/v1/dashboard", params={"sort": "amount"}, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "sort"
    assert not [c for c in fake.calls if c.call.service == "billing"]


def test_an_operator_names_the_distributor_for_both_services():
    operator = principal(kind="operator")
    http, fake = by_amount_client({("identity", "check_session"): operator})
    chosen = uuid.uuid4()

    page = http.get("/api/v1/dashboard", params={"sort": "-amount", "distributor_id": str(chosen)},
                    headers=AUTH).json()

    assert page["billing_available"] is True
    assert sent(fake, "partner_ids")["distributor_id"] == str(chosen)
    assert sent(fake, "billing_owner_page")["distributor_id"] == str(chosen)
    assert sent(fake, "list_partners")["distributor_id"] == str(chosen)
