"""The billing routes of the gateway, against a fake billing service."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from contracts.errors import PermissionDenied
from contracts.identity import Principal, UserView
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

AUTH = {"Authorization": "Bearer " + "t" * 43}
DETAILS = {
    "first_name": "Dana", "last_name": "Reyes", "billing_email": "ap@northwind.example", "company": "Northwind",
    "company_tax_id": "GB123456789", "address_line1": "1 Harbour St", "city": "Leeds", "zip": "LS1 4AP",
    "country": "GB", "phone": "+44 113 496 0000",
}


def principal(kind: str = "distributor", role: str = "administrator", permissions: tuple[str, ...] = ()) -> dict:
    user = UserView(id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind=kind, email="u@example.com",
                    credential_type="password", role=role, permissions=list(permissions), accessible_accounts="all",
                    email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def http(answers: dict, who: dict | None = None) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): who or principal(), **answers})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def billing_calls(fake: FakeRpcClient) -> list:
    return [c.call for c in fake.calls if c.call.service == "billing"]


def test_the_pdf_comes_back_as_a_pdf_attachment():
    document = {"filename": "INV-2026-000001.pdf", "content_type": "application/pdf",
                "content_base64": base64.b64encode(b"%PDF-1.4 fake").decode()}
    client, fake = http({("billing", "invoice_document"): document})

    response = client.get("/api/v1/billing/invoices/INV-2026-000001.pdf", headers=AUTH)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert response.content == b"%PDF-1.4 fake"
    assert billing_calls(fake)[0].args == ({"reference": "INV-2026-000001", "format": "pdf"},)


def test_the_csv_asks_for_the_csv():
    document = {"filename": "INV-2026-000001.csv", "content_type": "text/csv; charset=utf-8",
                "content_base64": base64.b64encode(b"reference\r\n").decode()}
    client, fake = http({("billing", "invoice_document"): document})

    response = client.get("/api/v1/billing/invoices/INV-2026-000001.csv", headers=AUTH)

    assert response.headers["content-type"].startswith("text/csv")
    assert billing_calls(fake)[0].args[0]["format"] == "csv"


def test_a_malformed_reference_never_reaches_billing():
    client, fake = http({})
    assert client.get("/api/v1/billing/invoices/..%2Fetc.pdf", headers=AUTH).status_code in (404, 422)
    assert billing_calls(fake) == []


def test_a_card_number_in_billing_details_is_refused_at_the_gateway():
    client, fake = http({("billing", "set_billing_details"): {}})

    response = client.put("/api/v1/billing/details", headers=AUTH,
                          json={**DETAILS, "address_line2": "4242 4242 4242 4242"})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "address_line2"
    assert "4242" not in response.text
    assert billing_calls(fake) == []


def test_a_cvc_next_to_a_token_is_refused():
    client, fake = http({("billing", "add_card"): {}})
    response = client.post("/api/v1/billing/cards", headers=AUTH, json={"token": "tok_visa", "cvc": "123"})
    assert response.status_code == 422 and billing_calls(fake) == []


def test_a_distributor_cannot_slip_another_distributor_into_its_details():
    client, fake = http({("billing", "set_billing_details"): lambda request: {
        "distributor_id": str(uuid.uuid4()), "details": None}})
    client.put("/api/v1/billing/details", headers=AUTH, json={**DETAILS, "distributor_id": str(uuid.uuid4())})
    assert "distributor_id" not in billing_calls(fake)[0].args[0]


def test_a_user_without_view_billing_is_refused_before_billing_is_asked():
    client, fake = http({}, who=principal(role="custom", permissions=("view_dashboard",)))
    assert client.get("/api/v1/billing/history", headers=AUTH).status_code == 403
    assert billing_calls(fake) == []


def test_billings_own_refusal_of_a_partner_is_a_403():
    client, _ = http({("billing", "billing_history"): PermissionDenied("only a distributor sees billing")},
                     who=principal(kind="partner"))
    response = client.get("/api/v1/billing/history", headers=AUTH)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


DISTRIBUTOR = uuid.uuid4()
OPERATOR_ROUTES = [  # (method, path, a valid body, the RPC it makes, billing's answer)
    ("post", "/api/v1/operator/billing-runs", {"as_of": "2026-11-01"}, "run_billing", {
        "as_of": "2026-11-01", "period_start": "2026-10-01", "period_end": "2026-10-31", "consolidated_invoices": 0,
        "annual_invoices": 0, "already_billed": 0, "accounts_billed": 0}),
    ("post", "/api/v1/operator/billing/payments", {"reference": "INV-2026-000001", "method": "paypal",
                                                   "amount": "54.43", "currency": "USD"}, "record_payment", {
        "id": str(uuid.uuid4()), "reference": "INV-2026-000001", "method": "paypal", "amount": "54.43",
        "currency": "USD", "status": "succeeded", "created_at": "2026-11-02T10:00:00+00:00"}),
    ("put", f"/api/v1/operator/distributors/{DISTRIBUTOR}/billing/method", {"method": "credit_card"},
     "set_billing_method", {"distributor_id": str(DISTRIBUTOR), "method": "credit_card", "can_change": True}),
]


@pytest.mark.parametrize(("method", "path", "body", "rpc", "answer"), OPERATOR_ROUTES)
def test_operator_billing_routes_refuse_a_distributor(method, path, body, rpc, answer):
    client, fake = http({("billing", rpc): answer})  # a distributor's administrator, an operator's request
    response = getattr(client, method)(path, headers=AUTH, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "permission_denied"
    assert billing_calls(fake) == []


@pytest.mark.parametrize(("method", "path", "body", "rpc", "answer"), OPERATOR_ROUTES)
def test_an_operator_gets_through_with_the_same_requests(method, path, body, rpc, answer):
    client, fake = http({("billing", rpc): answer}, who=principal(kind="operator"))
    response = getattr(client, method)(path, headers=AUTH, json=body)
    assert response.status_code in (200, 201), response.text
    assert [call.method for call in billing_calls(fake)] == [rpc]


def test_the_status_filters_travel_to_billing():
    client, fake = http({("billing", "billing_status"): {"items": [], "page": 2, "page_size": 10, "total": 0}})
    partner = uuid.uuid4()

    client.get(f"/api/v1/billing/status?partner_id={partner}&billing_status=overdue&as_of=2027-01-01&page=2"
               "&page_size=10&sort=-amount", headers=AUTH)

    assert billing_calls(fake)[0].args[0] == {"partner_id": str(partner), "direct": False,
                                              "billing_status": "overdue", "as_of": "2027-01-01", "page": 2,
                                              "page_size": 10, "sort": "-amount"}


EMPTY_PAGE = {"items": [], "page": 1, "page_size": 25, "total": 0}


def test_a_partner_the_caller_cannot_see_is_404_not_an_empty_page():
    hidden = uuid.uuid4()
    client, fake = http({("billing", "billing_status"): EMPTY_PAGE, ("tenancy", "tenant_names"): {"items": []}})

    response = client.get(f"/api/v1/billing/status?partner_id={hidden}", headers=AUTH)

    assert response.status_code == 404, response.text
    assert response.json()["error"] == {"code": "not_found", "message": "partner not found",
                                        "details": {"field": "partner_id"}}
    asked = [c.call for c in fake.calls if c.call.service == "tenancy"]
    assert asked[0].method == "tenant_names" and asked[0].args == ({"ids": [str(hidden)]},)


def test_a_visible_partner_gets_its_page_and_without_tenancy_billings_scope_still_holds():
    partner = uuid.uuid4()
    seen = {"items": [{"id": str(partner), "kind": "partner", "name": "Contoso"}]}
    client, _ = http({("billing", "billing_status"): EMPTY_PAGE, ("tenancy", "tenant_names"): seen})
    assert client.get(f"/api/v1/billing/status?partner_id={partner}", headers=AUTH).status_code == 200

    # tenancy not running: the page billing answered (scoped by billing itself) is served.
    client, _ = http({("billing", "billing_status"): EMPTY_PAGE})
    assert client.get(f"/api/v1/billing/status?partner_id={partner}", headers=AUTH).status_code == 200


def test_an_account_id_given_as_partner_id_is_404():
    account = uuid.uuid4()
    named = {"items": [{"id": str(account), "kind": "account", "name": "Coho"}]}
    client, _ = http({("billing", "billing_status"): EMPTY_PAGE, ("tenancy", "tenant_names"): named})

    assert client.get(f"/api/v1/billing/status?partner_id={account}", headers=AUTH).status_code == 404
