"""Drill-downs (a partner's accounts, the direct accounts) and billing status, composed from
tenancy and billing (fake RPC client, no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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
    return {"id": str(id_), "owner_id": str(PARTNER), "name": NAMES[id_], "email": None,
            "account_status": "monthly_subscribed", "backup_status": "successful", "plan": "monthly",
            "trial_ends_at": None, "size_bytes": 100, "seats": 3, "tasks": 1}


def account_page(query: dict) -> dict:
    """Tenancy: name order, the ``ids`` filter, paging."""
    ids = [i for i in sorted(NAMES, key=NAMES.get) if "ids" not in query or str(i) in query["ids"]]
    size, page = query.get("page_size", 25), query.get("page", 1)
    rows = [account(i) for i in ids[(page - 1) * size:page * size]]
    return {"items": rows, "page": page, "page_size": size, "total": len(ids), "total_accounts": 3,
            "counters": {"trial": {"in_progress": 0, "expiring": 0, "expired": 0},
                         "backup": {"no_backup": 0, "successful": 3, "partially_failed": 0, "failed": 0}}}


def amount(id_: str) -> dict:
    owed, status = OWED[uuid.UUID(id_)]
    return {"account_id": id_, "billing_status": status, "amount_due": owed, "currency": "USD"}


def account_amounts(request: dict) -> dict:
    """Billing: amounts of the given ids, or (``sort``) ordered by amount and paged."""
    ids = [i for i in request["ids"] if request.get("account_status") in (None, amount(i)["billing_status"])]
    if "sort" not in request:
        return {"items": [amount(i) for i in ids], "page": 1, "page_size": len(ids), "total": len(ids)}
    ids.sort(key=lambda i: float(amount(i)["amount_due"]), reverse=request["sort"] == "-amount")
    size, page = request["page_size"], request["page"]
    return {"items": [amount(i) for i in ids[(page - 1) * size:page * size]], "page": page, "page_size": size,
            "total": len(ids)}


def http(answers: dict | None = None, who: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): who or principal(),
                          ("tenancy", "list_accounts"): account_page,
                          ("tenancy", "account_ids"): {"ids": [str(i) for i in NAMES], "total": 3},
                          ("billing", "billing_account_amounts"): account_amounts, **(answers or {})})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def methods(fake: FakeRpcClient) -> list[str]:
    return [c.call.method for c in fake.calls if c.call.service != "identity"]


def sent(fake: FakeRpcClient, method: str) -> dict:
    return next(c for c in fake.calls if c.call.method == method).call.args[0]


DRILL_DOWN = f"/api/v1/partners/{PARTNER}/accounts"


# ---- drill-downs -------------------------------------------------------------------------------------------


def test_a_drill_down_row_carries_billings_status_and_amount_beside_tenancys_columns():
    client, fake = http()

    page = client.get(DRILL_DOWN, headers=AUTH).json()

    assert [(r["name"], r["billing_status"], r["amount"], r["currency"]) for r in page["items"]] == [
        ("Alpine Dental", "overdue", "45.00", "USD"), ("Birch Legal", "current", "0.00", "USD"),
        ("Cedar Farms", "due", "120.00", "USD")]
    assert page["items"][0]["account_status"] == "monthly_subscribed" and page["billing_available"] is True
    assert methods(fake) == ["list_accounts", "billing_account_amounts"]
    assert sorted(sent(fake, "billing_account_amounts")["ids"]) == sorted(str(i) for i in NAMES)


def test_billing_is_asked_only_for_the_accounts_of_the_page():
    client, fake = http()

    page = client.get(DRILL_DOWN, params={"page": 2, "page_size": 2}, headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Cedar Farms"]
    assert (page["total"], page["total_accounts"], page["page"]) == (3, 3, 2)
    assert sent(fake, "billing_account_amounts")["ids"] == [str(CEDAR)]


def test_a_billing_status_filter_on_a_drill_down_is_applied_by_billing_then_paged_by_tenancy():
    client, fake = http({("billing", "billing_filter"): {"ids": [str(ALPINE)], "includes_direct": False}})

    page = client.get(DRILL_DOWN, params={"billing_status": "overdue", "search": "al"}, headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Alpine Dental"] and page["total"] == 1
    assert methods(fake) == ["billing_filter", "list_accounts", "billing_account_amounts"]
    assert sent(fake, "billing_filter") == {"level": "accounts", "account_status": "overdue",
                                            "owner_id": str(PARTNER)}
    listed = sent(fake, "list_accounts")
    assert (listed["ids"], listed["search"], listed["partner_id"]) == ([str(ALPINE)], "al", str(PARTNER))


def test_a_drill_down_by_amount_is_ordered_and_paged_by_billing_over_tenancys_candidates():
    client, fake = http()

    page = client.get(DRILL_DOWN, params={"sort": "-amount", "page_size": 2, "backup_status": "successful"},
                      headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Cedar Farms", "Alpine Dental"]
    assert (page["total"], page["page_size"], page["sort"], page["total_accounts"]) == (3, 2, "-amount", 3)
    assert methods(fake) == ["account_ids", "billing_account_amounts", "list_accounts"]
    assert sent(fake, "account_ids") == {"backup_status": "successful", "partner_id": str(PARTNER)}
    assert sent(fake, "list_accounts")["ids"] == [str(CEDAR), str(ALPINE)]


def test_an_amount_sort_with_a_billing_status_filter_is_one_request_to_billing():
    client, fake = http()

    page = client.get(DRILL_DOWN, params={"sort": "amount", "billing_status": "due"}, headers=AUTH).json()

    assert [r["name"] for r in page["items"]] == ["Cedar Farms"] and page["total"] == 1
    assert sent(fake, "billing_account_amounts")["account_status"] == "due"
    assert "billing_filter" not in methods(fake)


def test_the_direct_accounts_filter_asks_billing_for_the_distributors_own_accounts():
    client, fake = http({("billing", "billing_filter"): {"ids": [], "includes_direct": False}})

    page = client.get("/api/v1/direct-accounts", params={"billing_status": "due"}, headers=AUTH).json()

    assert page["items"] == [] and page["total"] == 0
    assert sent(fake, "billing_filter") == {"level": "accounts", "account_status": "due"}
    assert "billing_account_amounts" not in methods(fake)  # nothing on the page to ask about


def test_without_billing_a_drill_down_still_answers_with_billing_columns_blank():
    down = ServiceUnavailable("billing did not answer", {"service": "billing"})
    client, _ = http({("billing", "billing_account_amounts"): down})

    response = client.get(DRILL_DOWN, headers=AUTH)

    assert response.status_code == 200
    page = response.json()
    assert page["billing_available"] is False and len(page["items"]) == 3
    assert all(r["amount"] is None and r["billing_status"] is None for r in page["items"])


def test_without_billing_a_drill_down_by_amount_falls_back_to_name_order():
    down = ServiceUnavailable("billing did not answer", {"service": "billing"})
    client, _ = http({("billing", "billing_account_amounts"): down})

    page = client.get(DRILL_DOWN, params={"sort": "-amount"}, headers=AUTH).json()

    assert (page["sort"], page["billing_available"]) == ("name", False)
    assert [r["name"] for r in page["items"]] == ["Alpine Dental", "Birch Legal", "Cedar Farms"]


def test_without_tenancy_a_drill_down_is_a_clear_503():
    client, _ = http({("tenancy", "list_accounts"): ServiceUnavailable("tenancy did not answer",
                                                                       {"service": "tenancy"})})

    response = client.get(DRILL_DOWN, headers=AUTH)

    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"


def test_a_partner_user_sees_its_accounts_without_money_and_may_not_filter_by_billing():
    client, fake = http(who=principal(kind="partner"))

    page = client.get(DRILL_DOWN, headers=AUTH).json()
    refused = client.get(DRILL_DOWN, params={"billing_status": "due"}, headers=AUTH)

    assert len(page["items"]) == 3 and all(r["amount"] is None for r in page["items"])
    assert refused.status_code == 403
    assert "billing" not in {c.call.service for c in fake.calls}


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
