"""The gateway's audit routes: filters into the RPC, permissions, and the streamed CSV export."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from contracts.audit import AuditPage, ExportPage
from contracts.errors import PermissionDenied
from contracts.identity import Principal, UserView
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

TOKEN = "t" * 43
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EMPTY_PAGE = AuditPage(items=[], page=1, page_size=25, total=0, total_capped=False).to_wire()


def principal(role: str = "custom", permissions: tuple[str, ...] = ()) -> dict:
    user = UserView(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="distributor", email="u@example.com",
        credential_type="password", role=role, permissions=list(permissions), accessible_accounts="all",
        email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def http(answers: dict, role: str = "administrator", permissions: tuple[str, ...] = ()) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): principal(role, permissions), **answers})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def audit_calls(fake: FakeRpcClient) -> list:
    return [c.call for c in fake.calls if c.call.service == "audit"]


def test_filters_and_paging_reach_the_audit_service():
    client, fake = http({("audit", "search"): EMPTY_PAGE})

    response = client.get("/api/v1/audit", headers=AUTH, params=[
        ("from", "2026-11-01"), ("to", "2026-11-30"), ("activity", "sign_in,permissions_changed"),
        ("activity", "sign_in"), ("status", "failed"), ("account", "Coho"), ("performed_by", "dana@x.example"),
        ("page", "2"), ("page_size", "50"), ("sort", "date")])

    assert response.status_code == 200 and response.json()["total"] == 0
    [call] = audit_calls(fake)
    assert call.method == "search"
    assert call.args[0] == {
        "filters": {"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-12-01T00:00:00Z",
                    "activity": ["sign_in", "permissions_changed"], "status": "failed", "account": "Coho",
                    "performed_by": "dana@x.example"},
        "page": 2, "page_size": 50, "cursor": None, "sort": "date"}


def test_a_time_without_an_offset_is_utc_and_a_cursor_is_passed_on():
    client, fake = http({("audit", "search"): EMPTY_PAGE})

    client.get("/api/v1/audit", headers=AUTH, params={"from": "2026-11-01T08:30:00", "cursor": "abc_-="})

    assert audit_calls(fake)[0].args[0]["filters"]["date_from"] == "2026-11-01T08:30:00Z"
    assert audit_calls(fake)[0].args[0]["cursor"] == "abc_-="


def test_bad_filters_are_422_naming_the_field():
    client, fake = http({("audit", "search"): EMPTY_PAGE})

    bad_activity = client.get("/api/v1/audit", headers=AUTH, params={"activity": "coffee_break"})
    bad_date = client.get("/api/v1/audit", headers=AUTH, params={"from": "last tuesday"})
    backwards = client.get("/api/v1/audit", headers=AUTH, params={"from": "2026-11-02", "to": "2026-11-01"})
    bad_status = client.get("/api/v1/audit", headers=AUTH, params={"status": "meh"})

    assert [r.status_code for r in (bad_activity, bad_date, backwards, bad_status)] == [422] * 4
    assert bad_activity.json()["error"]["details"]["fields"][0]["field"] == "activity"
    assert bad_date.json()["error"]["details"]["fields"][0]["field"] == "from"
    assert bad_status.json()["error"]["details"]["fields"][0]["field"] == "status"
    assert audit_calls(fake) == []


def test_reading_the_audit_needs_the_permission():
    refused, refused_fake = http({("audit", "search"): EMPTY_PAGE}, role="custom", permissions=("view_dashboard",))
    allowed, _ = http({("audit", "search"): EMPTY_PAGE}, role="custom", permissions=("view_security_audit",))

    response = refused.get("/api/v1/audit", headers=AUTH)
    assert response.status_code == 403 and "view_security_audit" in response.json()["error"]["message"]
    assert refused.get("/api/v1/audit/export.csv", headers=AUTH).status_code == 403
    assert audit_calls(refused_fake) == []
    assert allowed.get("/api/v1/audit", headers=AUTH).status_code == 200
    assert TestClient(create_app(rpc_client_factory=lambda _: FakeRpcClient())).get("/api/v1/audit").status_code == 401


def test_the_export_streams_every_chunk_under_one_export_id():
    chunks = {None: ExportPage(csv="Date (UTC),Activity\r\nA,1\r\n", rows=1, next_cursor="c1"),
              "c1": ExportPage(csv="B,2\r\n", rows=1, next_cursor="c2"),
              "c2": ExportPage(csv="C,3\r\n", rows=1)}
    client, fake = http({("audit", "export_page"): lambda request: chunks[request["cursor"]].to_wire()})

    response = client.get("/api/v1/audit/export.csv", headers=AUTH, params={"activity": "sign_in"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="security-audit-')
    assert response.text == "Date (UTC),Activity\r\nA,1\r\nB,2\r\nC,3\r\n"
    requests = [call.args[0] for call in audit_calls(fake)]
    assert [r["cursor"] for r in requests] == [None, "c1", "c2"]
    assert len({r["export_id"] for r in requests}) == 1
    assert {tuple(r["filters"]["activity"]) for r in requests} == {("sign_in",)}
    assert {r["limit"] for r in requests} == {5000}


def test_an_export_the_service_refuses_is_a_proper_error_not_a_broken_file():
    client, _ = http({("audit", "export_page"): PermissionDenied("you need the 'view_security_audit' permission")})

    response = client.get("/api/v1/audit/export.csv", headers=AUTH)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
